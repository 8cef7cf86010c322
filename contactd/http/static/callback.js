// The public callback booking form: windows and case types from GET /api/callbacks, the
// booking by POST /api/callbacks. One key per filled-in form, so a double click or a
// resubmission books once. Every word comes from GET /api/wording/pages, in the language of
// ?lang= or else the agency's first, and again when the client switches.
"use strict";

// The languages POST /api/callbacks can call in (its `language`): those of the client
// languages the form offers for the call.
const SPOKEN = ["da", "en"];

let words = null;  // GET /api/wording/pages: {lang, dir, languages, messages}
let options = { case_types: [], windows: [] };
let shownError = null;  // {id} of a message, or {text} the API gave: said again on a switch
let booked = null;  // once booked: {start, end} of the window, and what the case type promises
let key = newKey();
const $ = (id) => document.getElementById(id);
const t = (id, values = {}) => pageWords.said(words, id, values);

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
  if (dayKey(date) === dayKey(today)) return t("page.today");
  if (dayKey(date) === dayKey(tomorrow)) return t("page.tomorrow");
  return date.toLocaleDateString(t("page.locale"), { timeZone: options.timezone, weekday: "long", day: "numeric", month: "long" });
}

function clock(date) {
  return date.toLocaleTimeString(t("page.locale"), { timeZone: options.timezone, hour: "2-digit", minute: "2-digit" });
}

function capitalised(text) {
  return text.charAt(0).toLocaleUpperCase(words.lang) + text.slice(1);
}

function speak() {
  // The page's fixed words, its title, direction and language switcher.
  document.documentElement.lang = words.lang;
  document.documentElement.dir = words.dir;
  document.title = t("callback.page_title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("lang").replaceChildren(...words.languages.map(({ code, name }) => {
    const option = new Option(name, code);
    option.lang = code;
    return option;
  }));
  $("lang").value = words.lang;
}

function renderCallLanguages() {
  const spoken = words.languages.filter(({ code }) => SPOKEN.includes(code));
  const chosen = document.querySelector("input[name=callLanguage]:checked")?.value
    ?? (spoken.some(({ code }) => code === words.lang) ? words.lang : spoken[0]?.code);
  $("callLanguages").replaceChildren(...spoken.map(({ code, name }) => {
    const label = document.createElement("label");
    label.lang = code;
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "callLanguage";
    input.value = code;
    input.checked = code === chosen;
    label.append(input, ` ${name}`);
    return label;
  }));
}

function render() {
  if (!words) return;
  speak();
  renderCallLanguages();
  const caseType = $("caseType"), chosenType = caseType.value;
  const name = (c) => c[words.lang] ?? c.en ?? c.code;  // the API names case types in da and en
  caseType.replaceChildren(...options.case_types.map((c) => new Option(name(c), c.code)));
  if (chosenType) caseType.value = chosenType;
  const win = $("window"), chosenWindow = win.value;
  win.replaceChildren(...options.windows.map((w) => {
    const start = new Date(w.start), end = new Date(w.end);
    return new Option(`${capitalised(dayName(start))} ${clock(start)}–${clock(end)}`, w.id);
  }));
  if (chosenWindow) win.value = chosenWindow;
  $("submit").disabled = options.windows.length === 0;
  if (options.windows.length === 0 && !booked) shownError = { id: "callback.no_windows" };
  $("error").textContent = shownError ? shownError.text ?? t(shownError.id) : "";
  if (booked) {
    const start = new Date(booked.start), end = new Date(booked.end);
    $("doneWindow").textContent = t("callback.done_window", { day: dayName(start), start: clock(start), end: clock(end) });
    renderPromise(booked.promise, booked.words);
  }
}

function renderPromise(promise, said) {
  // The processing goal of the case type booked about and its checklist as a link: in the
  // language of the booking (the API worded the goal in it), marked as such if the client
  // has switched the page to another since.
  const goal = $("doneGoal"), checklist = $("doneChecklist");
  goal.hidden = checklist.hidden = !promise;
  if (!promise) return;
  for (const el of [goal, checklist]) {
    el.lang = said.lang;
    el.dir = said.dir;
  }
  goal.textContent = pageWords.said(said, "promise.goal", { name: promise.name, goal: promise.goal });
  const link = document.createElement("a");
  link.href = promise.url;
  link.dir = "ltr";  // an address reads left to right, also in Arabic
  link.textContent = promise.url;
  const text = said.messages["promise.checklist"] ?? "";
  const [before, ...after] = text.split("{url}");
  checklist.replaceChildren(...(after.length ? [before, link, after.join("{url}")] : [text]));
}

async function load() {
  const asked = new URLSearchParams(location.search).get("lang");
  const [wording, response] = await Promise.all([pageWords.in(asked), fetch("/api/callbacks")]);
  words = wording;
  options = await response.json();
  render();
}

async function book(event) {
  event.preventDefault();
  shownError = null;
  $("error").textContent = "";
  $("submit").disabled = true;
  const body = {
    number: $("number").value, case_type: $("caseType").value, window: $("window").value,
    language: document.querySelector("input[name=callLanguage]:checked")?.value, key,
    client_language: words.lang,  // the page's language: the confirmation SMS is in it
  };
  try {
    const response = await fetch("/api/callbacks", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) {
      const id = `callback.error.${data.error?.code}`;
      shownError = id in words.messages ? { id } : data.error?.message ? { text: data.error.message } : { id: "callback.failed" };
      throw new Error(id);
    }
    // The answer is the same whether or not the number already waits for a call (who waits
    // is not told to the web); the reference goes by SMS to the number only.
    booked = { start: data.window_start, end: data.window_end, promise: data.promise, words };
    render();
    $("booking").hidden = true;
    $("done").hidden = false;
    $("doneTitle").focus?.();
  } catch {
    shownError ??= { id: "callback.failed" };
    render();
    $("submit").disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", async (e) => {
    words = await pageWords.in(e.target.value);
    render();
  });
  $("booking").addEventListener("submit", book);
  load().catch(() => {
    shownError = { id: "callback.failed" };
    render();  // (without the words, there is nothing to say it in)
  });
});
