// The public status of the service centre: per queue the number being served, how many
// wait, the wait for a ticket taken now, and whether it is open; beside it the phone line
// (open or when it opens, and the wait for a caller who rings now) and e-mail (the goal, and
// the median answer time of the last 7 days); live from /api/status/events. Values change
// in place, so a screen reader hears only what changed.
// Every word comes from GET /api/wording/pages, in the language of ?lang=, else the one
// chosen here before, else the browser's, else the agency's first.
"use strict";

// The service centre's time zone: the API gives times in UTC.
let TIME_ZONE = "Europe/Copenhagen";  // until /api/status names the daemon's own

let words = null;  // GET /api/wording/pages: {lang, dir, languages, messages}
let status = null;
let live = null;  // the status's event stream (live.js)

const $ = (id) => document.getElementById(id);
const t = (id, values = {}) => pageWords.said(words, id, values);

function dayKey(date) {
  return date.toLocaleDateString("en-CA", { timeZone: TIME_ZONE });
}

function when(iso) {
  const date = new Date(iso);
  const locale = t("page.locale");
  const time = date.toLocaleTimeString(locale, { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit" });
  let day = date.toLocaleDateString(locale, { timeZone: TIME_ZONE, weekday: "long", day: "numeric", month: "long" });
  const now = daemonClock.now();
  if (dayKey(date) === dayKey(now)) day = t("page.today");
  else if (dayKey(date) === dayKey(new Date(now.getTime() + 86400000))) day = t("page.tomorrow");
  return t("page.at", { day, time });
}

function set(el, text) {
  if (el.textContent !== text) el.textContent = text;  // unchanged text is not re-announced
}

// An e-mail goal not in working days is shown in hours (of opening hours, for working hours).
const HOURS = { seconds: 1 / 3600, minutes: 1 / 60, hours: 1, "working hours": 1 };

function number(value, fraction) {
  // In the page's language (its decimal sign), with the Latin digits of the page's other
  // numbers. One decimal where a count must need no plural form (1,0 and 2,5 alike).
  const digits = { minimumFractionDigits: fraction ? 1 : 0, maximumFractionDigits: 1 };
  return new Intl.NumberFormat(t("page.locale"), { numberingSystem: "latn", ...digits }).format(value);
}

function queueName(q) {
  return q[words.lang] ?? q.en ?? q.queue;  // the API names queues in da and en
}

function openText(place) {
  if (place.open) return t("status.open");
  return place.opens_at ? t("status.closed_until", { when: when(place.opens_at) }) : t("status.closed");
}

function waitText(minutes) {
  return minutes > 0 ? t("status.wait", { n: minutes }) : t("status.no_wait");
}

function goalText(goal) {
  if (!goal) return t("status.none");
  if (goal.unit === "working days") return t("status.email_goal_days", { days: goal.amount });
  const hours = number(goal.amount * HOURS[goal.unit], false);
  return t(goal.unit === "working hours" ? "status.email_goal_working_hours" : "status.email_goal_hours", { hours });
}

function recentText(q) {
  if (!q.answered) return t("status.email_no_recent");
  if (q.goal?.unit === "working days") {
    return t("status.email_recent_days", { days: number(q.median_answer_working_days, true) });
  }
  return t("status.email_recent_hours", { hours: number(q.median_answer_seconds / 3600, true) });
}

function row(body, template, code) {
  let tr = body.querySelector(`tr[data-queue="${CSS.escape(code)}"]`);
  if (!tr) {
    tr = $(template).content.firstElementChild.cloneNode(true);
    tr.dataset.queue = code;
  }
  return tr;
}

function place(list, items) {
  // The rows or cards in this order, moving none that is already in its place.
  const same = items.length === list.children.length && items.every((el, i) => list.children[i] === el);
  if (!same) list.replaceChildren(...items);
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

function speak() {
  // The page's fixed words, its title, direction and language switcher.
  document.documentElement.lang = words.lang;
  document.documentElement.dir = words.dir;
  document.title = t("status.page_title");
  for (const el of document.querySelectorAll("[data-t]")) set(el, t(el.dataset.t));
  const switcher = $("lang");
  if (switcher.dataset.lang !== words.lang) {
    switcher.replaceChildren(...words.languages.map(({ code, name }) => {
      const option = new Option(name, code);
      option.lang = code;
      return option;
    }));
    switcher.value = switcher.dataset.lang = words.lang;
  }
}

function render() {
  if (!words) return;
  speak();
  if (!status) return;
  $("loading").hidden = true;
  const cards = status.queues.map((q) => {
    const li = card(q.queue);
    li.classList.toggle("closed", !q.open);
    set(li.querySelector(".name"), queueName(q));
    set(li.querySelector(".openState"), openText(q));
    set(li.querySelector(".serving"), q.now_serving || t("status.none"));
    set(li.querySelector(".waiting"), String(q.waiting));
    set(li.querySelector(".wait"), waitText(q.estimated_wait_minutes));
    return li;
  });
  place($("queues"), cards);
  if (!cards.length) set($("loading"), t("status.no_queues"));
  $("loading").hidden = cards.length > 0;
  renderPhone(status.phone);
  renderEmail(status.email);
  const at = new Date(status.at);
  $("updated").dateTime = status.at;
  set($("updated"), at.toLocaleTimeString(t("page.locale"), { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit" }));
}

function renderPhone(phone) {
  // The line's hours, and while it is open the wait per queue for a caller who rings now.
  const section = $("phone");
  section.hidden = !phone?.queues.length;
  if (section.hidden) return;
  section.classList.toggle("closed", !phone.open);
  set($("phoneOpen"), openText(phone));
  $("phoneNow").hidden = !phone.open;
  const body = $("phoneQueues");
  place(body, phone.queues.map((q) => {
    const tr = row(body, "phoneTemplate", q.queue);
    set(tr.querySelector(".name"), queueName(q));
    set(tr.querySelector(".waiting"), String(q.waiting));
    set(tr.querySelector(".wait"), waitText(q.estimated_wait_minutes));
    return tr;
  }));
}

function renderEmail(email) {
  const section = $("email");
  section.hidden = !email?.queues.length;
  if (section.hidden) return;
  const body = $("emailQueues");
  place(body, email.queues.map((q) => {
    const tr = row(body, "emailTemplate", q.queue);
    set(tr.querySelector(".name"), queueName(q));
    set(tr.querySelector(".goal"), goalText(q.goal));
    set(tr.querySelector(".recent"), recentText(q));
    return tr;
  }));
}

function follow() {
  live = followLive("/api/status/events", "status", (data) => {
    status = data;
    daemonClock.heard(status.at);
    TIME_ZONE = status.timezone || TIME_ZONE;
    render();
  }, $("connection"));
}

async function switchTo(lang) {
  words = await pageWords.in(lang);
  localStorage.setItem("contactd.lang", words.lang);
  render();
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", (event) => switchTo(event.target.value));
  const asked = new URLSearchParams(location.search).get("lang")
    || localStorage.getItem("contactd.lang") || navigator.language.split("-")[0];
  pageWords.in(asked).then((found) => { words = found; render(); });
  follow();
});
