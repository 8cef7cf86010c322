// The public callback booking form: windows and case types from GET /api/callbacks, the
// booking by POST /api/callbacks. One key per filled-in form, so a double click or a
// resubmission books once.
"use strict";

const TEXTS = {
  da: {
    title: "Bestil et opkald", language: "Sprog",
    intro: "Vælg hvornår vi skal ringe dig op. Du får en sms med din reference.",
    number: "Dit telefonnummer", numberHint: "For eksempel 20 12 34 56", caseType: "Hvad drejer det sig om?",
    window: "Hvornår må vi ringe?", callLanguage: "Hvilket sprog skal vi tale?", submit: "Bestil opkald",
    doneTitle: "Tak, dit opkald er bestilt",
    doneWindow: "Vi ringer {day} mellem kl. {start} og {end}.",
    doneSms: "Du får en sms med din reference. Havde du allerede bestilt et opkald, gælder det i stedet, med den tid og reference du fik i sms'en dengang.",
    noWindows: "Der er ingen ledige tider lige nu.", failed: "Bestillingen lykkedes ikke. Prøv igen.",
    today: "I dag", tomorrow: "I morgen",
    bad_number: "Det nummer kan vi ikke ringe til. Skriv et dansk nummer med 8 cifre, eller +landekode og nummer.",
    country_not_allowed: "Vi ringer kun op til danske numre. Ring selv til os, hvis du har et udenlandsk nummer.",
    window_not_offered: "Den tid er ikke længere ledig. Vælg en anden.",
    too_many_bookings: "Der er bestilt for mange opkald. Prøv igen senere.",
    invalid_body: "Udfyld alle felter.",
  },
  en: {
    title: "Book a call", language: "Language",
    intro: "Choose when we should call you. You get a text message with your reference.",
    number: "Your phone number", numberHint: "For example 20 12 34 56", caseType: "What is it about?",
    window: "When may we call?", callLanguage: "Which language should we speak?", submit: "Book call",
    doneTitle: "Thank you, your call is booked",
    doneWindow: "We will call {day} between {start} and {end}.",
    doneSms: "You get a text message with your reference. If you had already booked a call, that one stands instead, with the time and reference in the text message you got then.",
    noWindows: "There are no free times right now.", failed: "The booking did not succeed. Please try again.",
    today: "Today", tomorrow: "Tomorrow",
    bad_number: "We cannot call that number. Write a Danish number of 8 digits, or +country code and number.",
    country_not_allowed: "We only call Danish numbers. Please call us yourself if you have a number abroad.",
    window_not_offered: "That time is no longer free. Please choose another.",
    too_many_bookings: "Too many calls have been booked. Please try again later.",
    invalid_body: "Please fill in every field.",
  },
};

let lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "da";
let options = { case_types: [], windows: [] };
let key = newKey();
const $ = (id) => document.getElementById(id);
const t = (k) => TEXTS[lang][k];

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function dayKey(date) {
  return date.toLocaleDateString("en-CA", { timeZone: options.timezone });  // 2025-03-17
}

function dayName(date) {
  // "Today" and "tomorrow" by the daemon's clock and in its time zone (GET /api/callbacks
  // says both), not the browser's: the windows are the agency's, wherever the client is.
  const today = new Date(options.at);
  const tomorrow = new Date(today.getTime() + 86400000);
  if (dayKey(date) === dayKey(today)) return t("today");
  if (dayKey(date) === dayKey(tomorrow)) return t("tomorrow");
  return date.toLocaleDateString(lang === "da" ? "da-DK" : "en-GB", { timeZone: options.timezone, weekday: "long", day: "numeric", month: "long" });
}

function clock(date) {
  return date.toLocaleTimeString(lang === "da" ? "da-DK" : "en-GB", { timeZone: options.timezone, hour: "2-digit", minute: "2-digit" });
}

function render() {
  document.documentElement.lang = lang;
  document.title = `${t("title")} · ${lang === "da" ? "Udlændingestyrelsen" : "Danish Immigration Service"}`;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  const caseType = $("caseType"), chosenType = caseType.value;
  caseType.replaceChildren(...options.case_types.map((c) => new Option(c[lang], c.code)));
  if (chosenType) caseType.value = chosenType;
  const win = $("window"), chosenWindow = win.value;
  win.replaceChildren(...options.windows.map((w) => {
    const start = new Date(w.start), end = new Date(w.end);
    return new Option(`${dayName(start)} ${clock(start)}–${clock(end)}`, w.id);
  }));
  if (chosenWindow) win.value = chosenWindow;
  $("submit").disabled = options.windows.length === 0;
  if (options.windows.length === 0) $("error").textContent = t("noWindows");
}

async function load() {
  const response = await fetch("/api/callbacks");
  options = await response.json();
  render();
}

async function book(event) {
  event.preventDefault();
  $("error").textContent = "";
  $("submit").disabled = true;
  const body = {
    number: $("number").value, case_type: $("caseType").value, window: $("window").value,
    language: document.querySelector("input[name=callLanguage]:checked").value, key,
  };
  try {
    const response = await fetch("/api/callbacks", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(TEXTS[lang][data.error?.code] || data.error?.message || t("failed"));
    const chosen = options.windows.find((w) => w.id === body.window);
    // The answer is the same whether or not the number already waits for a call (who waits
    // is not told to the web); the reference goes by SMS to the number only.
    const start = new Date(chosen.start), end = new Date(chosen.end);
    $("doneWindow").textContent = t("doneWindow").replace("{day}", dayName(start).toLowerCase()).replace("{start}", clock(start)).replace("{end}", clock(end));
    $("booking").hidden = true;
    $("done").hidden = false;
    $("doneTitle").focus?.();
  } catch (error) {
    $("error").textContent = error.message;
    $("submit").disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", (e) => { lang = e.target.value; render(); });
  $("booking").addEventListener("submit", book);
  load().catch(() => { $("error").textContent = t("failed"); });
});
