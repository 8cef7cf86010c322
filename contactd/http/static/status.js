// The public status of the service centre: per queue the number being served, how many
// wait, the wait for a ticket taken now, and whether it is open; live from
// /api/status/events. Values change in place, so a screen reader hears only what changed.
"use strict";

const TEXTS = {
  da: {
    title: "Servicecentret lige nu", language: "Sprog",
    intro: "Se hvilket nummer der bliver betjent, og hvor mange der venter. Siden opdaterer sig selv.",
    reconnecting: "Forbinder igen…", loading: "Henter…", updated: "Opdateret",
    nowServing: "Nu betjenes", waiting: "Venter", estimatedWait: "Ventetid for et nyt nummer",
    none: "–", wait: "ca. {n} min", noWait: "ingen ventetid", open: "Åben", closed: "Lukket",
    closedUntil: "Lukket – åbner {when}", at: "{day} kl. {time}", today: "i dag", tomorrow: "i morgen",
    agency: "Udlændingestyrelsen", noQueues: "Servicecentret udleverer ingen numre.",
  },
  en: {
    title: "The service centre now", language: "Language",
    intro: "See which number is being served and how many are waiting. The page updates by itself.",
    reconnecting: "Reconnecting…", loading: "Loading…", updated: "Updated",
    nowServing: "Now serving", waiting: "Waiting", estimatedWait: "Wait for a new ticket",
    none: "–", wait: "approx. {n} min", noWait: "no wait", open: "Open", closed: "Closed",
    closedUntil: "Closed – opens {when}", at: "{day} at {time}", today: "today", tomorrow: "tomorrow",
    agency: "The Danish Immigration Service", noQueues: "The service centre issues no tickets.",
  },
};

// The service centre's time zone: the API gives times in UTC.
let TIME_ZONE = "Europe/Copenhagen";  // until /api/status names the daemon's own

const asked = new URLSearchParams(location.search).get("lang");
let lang = asked === "da" || asked === "en" ? asked
  : localStorage.getItem("contactd.lang") || (navigator.language.startsWith("da") ? "da" : "en");
let status = null;
let live = null;  // the status's event stream (live.js)

const $ = (id) => document.getElementById(id);
const t = (key) => TEXTS[lang][key] ?? key;
const locale = () => (lang === "da" ? "da-DK" : "en-GB");

function dayKey(date) {
  return date.toLocaleDateString("en-CA", { timeZone: TIME_ZONE });
}

function when(iso) {
  const date = new Date(iso);
  const time = date.toLocaleTimeString(locale(), { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit" });
  let day = date.toLocaleDateString(locale(), { timeZone: TIME_ZONE, weekday: "long", day: "numeric", month: "long" });
  const now = daemonClock.now();
  if (dayKey(date) === dayKey(now)) day = t("today");
  else if (dayKey(date) === dayKey(new Date(now.getTime() + 86400000))) day = t("tomorrow");
  return t("at").replace("{day}", day).replace("{time}", time);
}

function set(el, text) {
  if (el.textContent !== text) el.textContent = text;  // unchanged text is not re-announced
}

function card(code) {
  let li = document.querySelector(`.queueCard[data-queue="${CSS.escape(code)}"]`);
  if (!li) {
    li = $("queueTemplate").content.firstElementChild.cloneNode(true);
    li.dataset.queue = code;
    for (const el of li.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  }
  return li;
}

function render() {
  document.documentElement.lang = lang;
  document.title = `${t("title")} · ${t("agency")}`;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-t]")) set(el, t(el.dataset.t));
  if (!status) return;
  $("loading").hidden = true;
  const cards = status.queues.map((q) => {
    const li = card(q.queue);
    li.classList.toggle("closed", !q.open);
    set(li.querySelector(".name"), q[lang]);
    set(li.querySelector(".openState"), q.open ? t("open") : q.opens_at ? t("closedUntil").replace("{when}", when(q.opens_at)) : t("closed"));
    set(li.querySelector(".serving"), q.now_serving || t("none"));
    set(li.querySelector(".waiting"), String(q.waiting));
    set(li.querySelector(".wait"), q.estimated_wait_minutes > 0 ? t("wait").replace("{n}", q.estimated_wait_minutes) : t("noWait"));
    return li;
  });
  const list = $("queues");
  const same = cards.length === list.children.length && cards.every((li, i) => list.children[i] === li);
  if (!same) list.replaceChildren(...cards);
  if (!cards.length) set($("loading"), t("noQueues"));
  $("loading").hidden = cards.length > 0;
  const at = new Date(status.at);
  $("updated").dateTime = status.at;
  set($("updated"), at.toLocaleTimeString(locale(), { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit" }));
}

function follow() {
  live = followLive("/api/status/events", "status", (data) => {
    status = data;
    daemonClock.heard(status.at);
    TIME_ZONE = status.timezone || TIME_ZONE;
    render();
  }, $("connection"));
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", (event) => {
    lang = event.target.value;
    localStorage.setItem("contactd.lang", lang);
    render();
  });
  render();
  follow();
});
