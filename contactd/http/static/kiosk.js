// The front desk's ticket kiosk: sign in (staffSession, session.js), pick what the visitor comes about,
// print a numbered ticket (POST /api/tickets). One request id per press of the button: a
// double click or a retry after a lost answer gets the same ticket, never a second one.
// The queues' open/closed state comes live from the public /api/status/events.
"use strict";

const TEXTS = {
  da: {
    title: "Udskriv kønummer", language: "Sprog", signin: "Log ind", token: "Din adgangsnøgle", login: "Brugernavn",
    locked: "For mange forsøg. Vent og prøv igen.", ended: "Du er logget ud. Log ind igen.",
    signinButton: "Log ind", signOut: "Log ud", badToken: "Brugernavn eller adgangsnøgle passer ikke.",
    queues: "Køerne", open: "åben", closed: "lukket", opens: "åbner {when}", waiting: "{n} venter",
    reconnecting: "Forbinder igen…", allClosed: "Servicecentret er lukket.",
    allClosedUntil: "Servicecentret er lukket. Det åbner {when}.",
    caseType: "Hvad drejer det sig om?", visitorLanguage: "Den besøgendes sprog", priority: "Prioritet",
    normal: "Almindelig", assistance: "Har brug for hjælp", appointment: "Har en aftale",
    phone: "Mobilnummer til sms (valgfrit)",
    phoneHint: "Den besøgende får en sms, når det snart er deres tur.",
    print: "Udskriv nummer", printing: "Udskriver…", issuedHeading: "Nummeret er udskrevet",
    printAgain: "Udskriv igen", next: "Næste besøgende",
    sameTicket: "Nummeret var allerede oprettet ved det samme tryk; her er det igen.",
    chooseCaseType: "Vælg hvad det drejer sig om.",
    bad_phone: "Det nummer kan vi ikke sende sms til. Skriv et dansk mobilnummer med 8 cifre, eller + landekode og nummer.",
    not_accepted: "Den sagstype kan ikke få et nummer i servicecentret. Vælg en anden.",
    kioskClosed: "Servicecentret er lukket for denne sagstype.",
    kioskClosedUntil: "Servicecentret er lukket for denne sagstype. Det åbner {when}.",
    forbidden: "Du har ikke adgang til at udskrive numre. Spørg en supervisor.",
    unavailable: "Systemet svarer ikke lige nu. Prøv igen om lidt.",
    offline: "Ingen forbindelse til serveren. Tryk igen – den besøgende får kun ét nummer.",
    failed: "Nummeret kunne ikke udskrives.", at: "{day} kl. {time}", today: "i dag", tomorrow: "i morgen",
    ticketLabel: "Kønummer",
  },
  en: {
    title: "Print queue ticket", language: "Language", signin: "Sign in", token: "Your access token", login: "User name",
    locked: "Too many tries. Wait and try again.", ended: "You are signed out. Sign in again.",
    signinButton: "Sign in", signOut: "Sign out", badToken: "The user name or token is wrong.",
    queues: "Queues", open: "open", closed: "closed", opens: "opens {when}", waiting: "{n} waiting",
    reconnecting: "Reconnecting…", allClosed: "The service centre is closed.",
    allClosedUntil: "The service centre is closed. It opens {when}.",
    caseType: "What is it about?", visitorLanguage: "The visitor's language", priority: "Priority",
    normal: "Normal", assistance: "Needs assistance", appointment: "Has an appointment",
    phone: "Mobile number for a text message (optional)",
    phoneHint: "The visitor gets a text message when their turn is near.",
    print: "Print ticket", printing: "Printing…", issuedHeading: "The ticket is printed",
    printAgain: "Print again", next: "Next visitor",
    sameTicket: "This press had already issued the ticket; here it is again.",
    chooseCaseType: "Choose what it is about.",
    bad_phone: "We cannot text that number. Write a Danish mobile number of 8 digits, or + country code and number.",
    not_accepted: "That case type cannot get a ticket at the service centre. Choose another.",
    kioskClosed: "The service centre is closed for this case type.",
    kioskClosedUntil: "The service centre is closed for this case type. It opens {when}.",
    forbidden: "You may not print tickets. Ask a supervisor.",
    unavailable: "The system does not answer right now. Try again in a moment.",
    offline: "No connection to the server. Press again – the visitor gets only one ticket.",
    failed: "The ticket could not be printed.", at: "{day} at {time}", today: "today", tomorrow: "tomorrow",
    ticketLabel: "Queue ticket",
  },
};

// What the printed ticket says, in the visitor's language (not the front desk's).
const TICKET = {
  da: {
    agency: "Udlændingestyrelsen", yourNumber: "Dit nummer", wait: "Forventet ventetid: ca. {n} min",
    first: "Du er den næste i køen", ahead: "Der er {n} foran dig", issued: "Udskrevet {when}",
    follow: "Følg køen på", reference: "Reference {ref}", at: "{day} kl. {time}",
  },
  en: {
    agency: "The Danish Immigration Service", yourNumber: "Your number",
    wait: "Estimated wait: approx. {n} min", first: "You are next in the queue",
    ahead: "{n} ahead of you", issued: "Issued {when}", follow: "Follow the queue at",
    reference: "Reference {ref}", at: "{day} at {time}",
  },
};

// The service centre's time zone: the API gives times in UTC, visitors read local time.
let TIME_ZONE = "Europe/Copenhagen";  // until /api/status names the daemon's own

let lang = localStorage.getItem("contactd.lang") || (navigator.language.startsWith("da") ? "da" : "en");
let reference = { case_types: [], queues: [] };
let status = null;
let requestId = newRequestId();
let busy = false;
let ticket = null;
let live = null;  // the status's event stream (live.js)

const $ = (id) => document.getElementById(id);
const t = (key) => TEXTS[lang][key] ?? key;
const localeOf = (language) => (language === "da" ? "da-DK" : "en-GB");

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
  const time = date.toLocaleTimeString(localeOf(lang), { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit" });
  let day = date.toLocaleDateString(localeOf(lang), { timeZone: TIME_ZONE, weekday: "long", day: "numeric", month: "long" });
  const now = daemonClock.now();
  if (dayKey(date) === dayKey(now)) day = t("today");
  else if (dayKey(date) === dayKey(new Date(now.getTime() + 86400000))) day = t("tomorrow");
  return t("at").replace("{day}", day).replace("{time}", time);
}

function translate() {
  document.documentElement.lang = lang;
  document.title = `contactd – ${t("title")}`;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("ticket").setAttribute("aria-label", t("ticketLabel"));
  if (busy) $("print").textContent = t("printing");
  renderCaseTypes();
  renderQueues();
}

function renderCaseTypes() {
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
    name.textContent = c[lang];
    label.append(input, name);
    return label;
  });
  $("caseTypes").replaceChildren(...tiles);
}

function renderQueues() {
  if (!status) return;
  const items = status.queues.map((q) => {
    const li = document.createElement("li");
    li.className = q.open ? "open" : "closed";
    li.dataset.queue = q.queue;
    const state = q.open ? t("open") : q.opens_at ? `${t("closed")}, ${t("opens").replace("{when}", when(q.opens_at))}` : t("closed");
    li.textContent = `${q[lang]}: ${state} · ${t("waiting").replace("{n}", q.waiting)}`;
    return li;
  });
  $("queueList").replaceChildren(...items);
  const banner = $("closedBanner");
  const anyOpen = status.queues.some((q) => q.open);
  banner.hidden = anyOpen || status.queues.length === 0;
  if (!anyOpen) {
    const opens = status.queues.map((q) => q.opens_at).filter(Boolean).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
    banner.textContent = opens ? t("allClosedUntil").replace("{when}", when(opens)) : t("allClosed");
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
    signedOut(t("ended"));
  } else if (code === "kiosk_closed") {
    const opens = (error.details || []).map((d) => d.opens_at).find(Boolean);
    $("error").textContent = opens ? t("kioskClosedUntil").replace("{when}", when(opens)) : t("kioskClosed");
  } else if (code === "bad_phone") {
    fieldError("phone", t("bad_phone"));
    focusField("phone");
  } else if (code === "not_accepted") {
    fieldError("caseType", t("not_accepted"));
    focusField("caseType");
  } else if (code === "invalid_body") {
    const other = [];
    for (const d of error.details || []) {
      if (d.field === "case_type") fieldError("caseType", t("chooseCaseType"));
      else if (d.field === "phone") fieldError("phone", t("bad_phone"));
      else other.push(`${d.field}: ${d.problem}`);
    }
    $("error").textContent = other.length ? `${t("failed")} ${other.join("; ")}` : "";
    if ($("caseTypeError").textContent) focusField("caseType");
    else if ($("phoneError").textContent) focusField("phone");
  } else if (status === 403) {
    $("error").textContent = t("forbidden");
  } else if (status === 503) {
    $("error").textContent = t("unavailable");
  } else {
    $("error").textContent = `${t("failed")} ${error?.message || ""}`.trim();
  }
}

function setBusy(on) {
  busy = on;
  const button = $("print");
  button.disabled = on;
  button.textContent = on ? t("printing") : t("print");
  $("issue").setAttribute("aria-busy", String(on));
}

async function issue(event) {
  event.preventDefault();
  if (busy) return;  // one press at a time; the button is disabled too
  clearErrors();
  const caseType = document.querySelector("input[name=caseType]:checked")?.value;
  if (!caseType) {
    fieldError("caseType", t("chooseCaseType"));
    focusField("caseType");
    return;
  }
  const body = {
    case_type: caseType,
    language: document.querySelector("input[name=visitorLanguage]:checked").value,
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
      $("error").textContent = t("offline");  // the same request id on the next press
      return;
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      showProblem(response.status, data?.error);
      return;
    }
    requestId = newRequestId();  // this visitor has their ticket: the next press is new
    showTicket(data, response.status === 200);
  } finally {
    setBusy(false);
  }
}

function queueName(code, language) {
  const found = reference.queues.find((q) => q.code === code);
  return found ? found[language] : code;
}

function showTicket(data, again) {
  ticket = data;
  const words = TICKET[data.language] || TICKET.da;
  const language = TICKET[data.language] ? data.language : "da";
  $("ticket").lang = language;
  $("ticketAgency").textContent = words.agency;
  $("ticketYourNumber").textContent = words.yourNumber;
  $("ticketNumber").textContent = data.number;
  $("ticketQueue").textContent = queueName(data.queue, language);
  $("ticketWait").textContent = words.wait.replace("{n}", data.estimated_wait_minutes);
  $("ticketAhead").textContent = data.position <= 1 ? words.first : words.ahead.replace("{n}", data.position - 1);
  $("ticketIssued").textContent = words.issued.replace("{when}", whenIssued(data.created_at, language));
  $("ticketFollow").textContent = words.follow;
  $("ticketUrl").textContent = `${location.origin}/status`;
  $("ticketReference").textContent = words.reference.replace("{ref}", data.reference);
  $("issuedNote").textContent = again ? t("sameTicket") : "";
  $("issue").hidden = true;
  $("issued").hidden = false;
  $("issuedHeading").focus();
  requestAnimationFrame(() => window.print());
}

function whenIssued(iso, language) {
  const date = new Date(iso);
  const locale = localeOf(language);
  const day = date.toLocaleDateString(locale, { timeZone: TIME_ZONE, day: "numeric", month: "long", year: "numeric" });
  const time = date.toLocaleTimeString(locale, { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit" });
  return TICKET[language].at.replace("{day}", day).replace("{time}", time);
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
    $("signinError").textContent = error.status === 401 ? t("badToken")
      : error.status === 429 ? t("locked") : error.message || t("unavailable");
    return;
  }
  $("token").value = "";  // not kept: the session cookie signs in, also after a restart
  await open();
}

async function open() {
  try {
    reference = await staffSession.api("GET", "/api/reference");
  } catch (error) {
    return signedOut(error.status === 403 ? t("forbidden") : error.status ? "" : t("unavailable"));
  }
  $("signinError").textContent = "";
  $("signin").hidden = true;
  $("kiosk").hidden = false;
  $("signout").hidden = false;
  renderCaseTypes();
  follow();
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", (event) => {
    lang = event.target.value;
    localStorage.setItem("contactd.lang", lang);
    translate();
  });
  $("signin").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut());
  staffSession.onEnded = () => signedOut(t("ended"));
  $("issue").addEventListener("submit", issue);
  $("phone").addEventListener("input", () => fieldError("phone", ""));
  $("printAgain").addEventListener("click", () => window.print());
  $("next").addEventListener("click", nextVisitor);
  translate();
  staffSession.check().then((signedIn) => (signedIn ? open() : signedOut("")));
});
