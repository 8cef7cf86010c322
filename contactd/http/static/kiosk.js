// The front desk's ticket kiosk: sign in (staffSession, session.js), pick what the visitor comes about,
// print a numbered ticket (POST /api/tickets). One request id per press of the button: a
// double click or a retry after a lost answer gets the same ticket, never a second one.
// The queues' open/closed state comes live from the public /api/status/events. Every word
// comes from GET /api/wording/pages: the kiosk's in the front desk's language, the printed
// ticket's in the visitor's.
"use strict";

// The languages POST /api/tickets takes as its `language`, what the counter speaks with the
// visitor. The visitor may read any client language the agency serves: the ticket is printed
// in it (`client_language`), and a visitor who speaks neither of these is served in English.
const SPOKEN = ["da", "en"];
const SPOKEN_OTHERWISE = "en";

// The service centre's time zone: the API gives times in UTC, visitors read local time.
let TIME_ZONE = "Europe/Copenhagen";  // until /api/status names the daemon's own

let words = null;  // GET /api/wording/pages in the front desk's language
const wordings = new Map();  // language asked -> its words, for the tickets printed
let reference = { case_types: [], queues: [] };
let status = null;
let requestId = newRequestId();
let busy = false;
let ticket = null;
let live = null;  // the status's event stream (live.js)

const $ = (id) => document.getElementById(id);
const t = (id, values = {}) => pageWords.said(words, id, values);

async function wordingIn(lang) {
  // The page's words in `lang`, or in the agency's first language if `lang` is not offered.
  if (wordings.has(lang)) return wordings.get(lang);
  const found = await pageWords.in(lang);
  wordings.set(lang, found);
  return found;
}

function newRequestId() {
  // One id per press of the button (crypto.randomUUID needs https; fall back without it).
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function dayKey(date) {
  return date.toLocaleDateString("en-CA", { timeZone: TIME_ZONE });  // 2025-03-17
}

function when(iso) {
  // "i dag kl. 08.00", "mandag 17. marts kl. 08.00", in the service centre's time.
  const date = new Date(iso);
  const locale = t("page.locale");
  const time = date.toLocaleTimeString(locale, { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit" });
  let day = date.toLocaleDateString(locale, { timeZone: TIME_ZONE, weekday: "long", day: "numeric", month: "long" });
  const now = daemonClock.now();
  if (dayKey(date) === dayKey(now)) day = t("page.today");
  else if (dayKey(date) === dayKey(new Date(now.getTime() + 86400000))) day = t("page.tomorrow");
  return t("page.at", { day, time });
}

function nameOf(named, lang) {
  // A case type's or queue's name: the API gives them in da and en.
  return named[lang] ?? named.en ?? named.code ?? named.queue;
}

function translate() {
  if (!words) return;
  document.documentElement.lang = words.lang;
  document.documentElement.dir = words.dir;
  document.title = t("kiosk.page_title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("lang").replaceChildren(...words.languages.map(({ code, name }) => {
    const option = new Option(name, code);
    option.lang = code;
    return option;
  }));
  $("lang").value = words.lang;
  $("ticket").setAttribute("aria-label", t("kiosk.ticket_label"));
  if (busy) $("print").textContent = t("kiosk.printing");
  renderVisitorLanguages();
  renderCaseTypes();
  renderQueues();
}

function renderVisitorLanguages() {
  // One tile per client language the agency serves, each by its own name.
  const chosen = document.querySelector("input[name=visitorLanguage]:checked")?.value;
  const tiles = words.languages.map(({ code, name }, index) => {
    const label = document.createElement("label");
    label.className = "tile";
    label.lang = code;
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "visitorLanguage";
    input.value = code;
    input.defaultChecked = index === 0;  // the next visitor's (the form's reset)
    input.checked = chosen ? code === chosen : index === 0;
    label.append(input, ` ${name}`);
    return label;
  });
  $("visitorLanguages").replaceChildren(...tiles);
}

function renderCaseTypes() {
  if (!words) return;
  const chosen = document.querySelector("input[name=caseType]:checked")?.value;
  const tiles = reference.case_types.map((c) => {
    const label = document.createElement("label");
    label.className = "tile";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "caseType";
    input.value = c.code;
    input.checked = c.code === chosen;
    input.addEventListener("change", () => fieldError("caseType", ""));
    const name = document.createElement("span");
    name.textContent = nameOf(c, words.lang);
    label.append(input, name);
    return label;
  });
  $("caseTypes").replaceChildren(...tiles);
}

function renderQueues() {
  if (!status || !words) return;
  const items = status.queues.map((q) => {
    const li = document.createElement("li");
    li.className = q.open ? "open" : "closed";
    li.dataset.queue = q.queue;
    const state = q.open ? t("kiosk.open")
      : q.opens_at ? t("kiosk.closed_until", { when: when(q.opens_at) }) : t("kiosk.closed");
    li.textContent = t("kiosk.queue", { queue: nameOf(q, words.lang), state, waiting: t("kiosk.waiting", { n: q.waiting }) });
    return li;
  });
  $("queueList").replaceChildren(...items);
  const banner = $("closedBanner");
  const anyOpen = status.queues.some((q) => q.open);
  banner.hidden = anyOpen || status.queues.length === 0;
  if (!anyOpen) {
    const opens = status.queues.map((q) => q.opens_at).filter(Boolean).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
    banner.textContent = opens ? t("kiosk.all_closed_until", { when: when(opens) }) : t("kiosk.all_closed");
  }
}

function follow() {
  // The queues' open state and waits, live.
  live?.close();
  live = followLive("/api/status/events", "status", (data) => {
    status = data;
    daemonClock.heard(status.at);
    TIME_ZONE = status.timezone || TIME_ZONE;
    renderQueues();
  }, $("connection"));
}

function fieldError(field, message) {
  const error = $(`${field}Error`);
  error.textContent = message;
  if (field === "caseType") {
    $("caseTypeField").classList.toggle("invalid", Boolean(message));
    for (const input of document.querySelectorAll("input[name=caseType]")) input.setAttribute("aria-invalid", String(Boolean(message)));
  } else {
    $(field).setAttribute("aria-invalid", String(Boolean(message)));
  }
}

function clearErrors() {
  fieldError("caseType", "");
  fieldError("phone", "");
  $("error").textContent = "";
}

function focusField(field) {
  const target = field === "caseType"
    ? document.querySelector("input[name=caseType]:checked") || document.querySelector("input[name=caseType]")
    : $(field);
  target?.focus();
}

function showProblem(status, error) {
  // The API's error, said in the front desk's language, next to the field it is about.
  const code = error?.code;
  if (status === 401) {
    signedOut(t("kiosk.ended"));
  } else if (code === "kiosk_closed") {
    const opens = (error.details || []).map((d) => d.opens_at).find(Boolean);
    $("error").textContent = opens ? t("kiosk.closed_for_type_until", { when: when(opens) }) : t("kiosk.closed_for_type");
  } else if (code === "bad_phone") {
    fieldError("phone", t("kiosk.bad_phone"));
    focusField("phone");
  } else if (code === "not_accepted") {
    fieldError("caseType", t("kiosk.not_accepted"));
    focusField("caseType");
  } else if (code === "invalid_body") {
    const other = [];
    for (const d of error.details || []) {
      if (d.field === "case_type") fieldError("caseType", t("kiosk.choose_case_type"));
      else if (d.field === "phone") fieldError("phone", t("kiosk.bad_phone"));
      else other.push(`${d.field}: ${d.problem}`);
    }
    $("error").textContent = other.length ? `${t("kiosk.failed")} ${other.join("; ")}` : "";
    if ($("caseTypeError").textContent) focusField("caseType");
    else if ($("phoneError").textContent) focusField("phone");
  } else if (status === 403) {
    $("error").textContent = t("kiosk.forbidden");
  } else if (status === 503) {
    $("error").textContent = t("kiosk.unavailable");
  } else {
    $("error").textContent = `${t("kiosk.failed")} ${error?.message || ""}`.trim();
  }
}

function setBusy(on) {
  busy = on;
  const button = $("print");
  button.disabled = on;
  button.textContent = on ? t("kiosk.printing") : t("kiosk.print");
  $("issue").setAttribute("aria-busy", String(on));
}

async function issue(event) {
  event.preventDefault();
  if (busy) return;  // one press at a time; the button is disabled too
  clearErrors();
  const caseType = document.querySelector("input[name=caseType]:checked")?.value;
  if (!caseType) {
    fieldError("caseType", t("kiosk.choose_case_type"));
    focusField("caseType");
    return;
  }
  const reads = document.querySelector("input[name=visitorLanguage]:checked")?.value;
  const body = {
    case_type: caseType,
    language: SPOKEN.includes(reads) ? reads : SPOKEN_OTHERWISE,
    client_language: reads,
    priority: document.querySelector("input[name=priority]:checked").value,
    request_id: requestId,
  };
  const phone = $("phone").value.trim();
  if (phone) body.phone = phone;
  setBusy(true);
  try {
    let response;
    try {
      response = await fetch("/api/tickets", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": staffSession.current?.csrf ?? "", "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch {
      $("error").textContent = t("kiosk.offline");  // the same request id on the next press
      return;
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      showProblem(response.status, data?.error);
      return;
    }
    requestId = newRequestId();  // this visitor has their ticket: the next press is new
    await showTicket(data, response.status === 200);
  } finally {
    setBusy(false);
  }
}

function queueName(code, language) {
  const found = reference.queues.find((q) => q.code === code);
  return found ? nameOf(found, language) : code;
}

async function showTicket(data, again) {
  ticket = data;
  // The ticket in the language the visitor reads (the agency's first, if it has no words in it).
  const visitor = await wordingIn(data.client_language ?? data.language).catch(() => words);
  const w = (id, values) => pageWords.said(visitor, id, values);
  $("ticket").lang = visitor.lang;
  $("ticket").dir = visitor.dir;
  $("ticketAgency").textContent = w("ticket.agency");
  $("ticketYourNumber").textContent = w("ticket.your_number");
  $("ticketNumber").textContent = data.number;
  $("ticketQueue").textContent = queueName(data.queue, visitor.lang);
  $("ticketWait").textContent = w("ticket.wait", { n: data.estimated_wait_minutes });
  $("ticketAhead").textContent = data.position <= 1 ? w("ticket.first") : w("ticket.ahead", { n: data.position - 1 });
  showPromise(data.promise, w);
  $("ticketIssued").textContent = w("ticket.issued", { when: whenIssued(data.created_at, visitor) });
  $("ticketFollow").textContent = w("ticket.follow");
  $("ticketUrl").textContent = `${location.origin}/status`;
  $("ticketReference").textContent = w("ticket.reference", { ref: data.reference });
  $("issuedNote").textContent = again ? t("kiosk.same_ticket") : "";
  $("issue").hidden = true;
  $("issued").hidden = false;
  $("issuedHeading").focus();
  requestAnimationFrame(() => window.print());
}

function showPromise(promise, w) {
  // What the visitor's case type promises (the API's `promise`, in their language): the
  // processing goal, and the checklist's address, which is printed left to right in any script.
  $("ticketGoal").hidden = $("ticketChecklist").hidden = !promise;
  if (!promise) return;
  $("ticketGoal").textContent = w("promise.goal", { name: promise.name, goal: promise.goal });
  const url = document.createElement("span");
  url.className = "ticketUrl";
  url.dir = "ltr";
  url.textContent = promise.url;
  $("ticketChecklist").replaceChildren(...around(w("promise.checklist"), "{url}", url));
}

function around(text, placeholder, node) {
  // `text` with `node` in the place of its `placeholder` (as it is, if it has none).
  const [before, ...after] = text.split(placeholder);
  return after.length ? [before, node, after.join(placeholder)] : [text];
}

function whenIssued(iso, wording) {
  const date = new Date(iso);
  const locale = pageWords.said(wording, "page.locale");
  const day = date.toLocaleDateString(locale, { timeZone: TIME_ZONE, day: "numeric", month: "long", year: "numeric" });
  const time = date.toLocaleTimeString(locale, { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit" });
  return pageWords.said(wording, "page.at", { day, time });
}

function nextVisitor() {
  // A clean form for the next visitor (nothing of the last one's is kept).
  ticket = null;
  $("issue").reset();
  clearErrors();
  $("issuedNote").textContent = "";
  $("issued").hidden = true;
  $("issue").hidden = false;
  focusField("caseType");
}

async function signOut() {
  try { await staffSession.signOut(); } catch { /* ended already */ }
  signedOut("");
}

async function signedOut(message) {
  live?.close();
  $("kiosk").hidden = true;
  $("signout").hidden = true;
  $("signinError").textContent = message;
  await staffSession.showForm();
}

async function signIn(event) {
  event.preventDefault();
  try {
    await staffSession.signIn($("login").value, $("token").value);
  } catch (error) {
    $("signinError").textContent = error.status === 401 ? t("kiosk.bad_token")
      : error.status === 429 ? t("kiosk.locked") : error.message || t("kiosk.unavailable");
    return;
  }
  $("token").value = "";  // not kept: the session cookie signs in, also after a restart
  await open();
}

async function open() {
  try {
    reference = await staffSession.api("GET", "/api/reference");
  } catch (error) {
    return signedOut(error.status === 403 ? t("kiosk.forbidden") : error.status ? "" : t("kiosk.unavailable"));
  }
  $("signinError").textContent = "";
  $("signin").hidden = true;
  $("kiosk").hidden = false;
  $("signout").hidden = false;
  renderCaseTypes();
  follow();
}

async function speakIn(lang) {
  words = await wordingIn(lang);
  translate();
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", async (event) => {
    await speakIn(event.target.value);
    localStorage.setItem("contactd.lang", words.lang);
  });
  $("signin").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut());
  staffSession.onEnded = () => signedOut(t("kiosk.ended"));
  $("issue").addEventListener("submit", issue);
  $("phone").addEventListener("input", () => fieldError("phone", ""));
  $("printAgain").addEventListener("click", () => window.print());
  $("next").addEventListener("click", nextVisitor);
  const wanted = localStorage.getItem("contactd.lang") || navigator.language.split("-")[0];
  speakIn(wanted).then(() => staffSession.check()).then((signedIn) => (signedIn ? open() : signedOut("")));
});
