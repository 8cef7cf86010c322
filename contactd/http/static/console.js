// The console for supervisors and administrators: queues against their goals and the agents,
// live (one shared snapshot per change, /api/console/events); set an agent's state, take a held
// contact back, read a contact's timeline and the day's satisfaction comments, edit an agent's
// profile, play days offline to see what if, read the improvement report of a week or a
// period; for administrators, staff, tokens, sessions and the audit log.
"use strict";

const TEXTS = {
  da: {
    title: "Konsol", language: "Sprog", signin: "Log ind", login: "Brugernavn", token: "Din adgangsnøgle",
    signinButton: "Log ind", signOut: "Log ud", badToken: "Brugernavn eller adgangsnøgle passer ikke.",
    locked: "For mange forsøg. Vent og prøv igen.", ended: "Du er logget ud. Log ind igen.",
    notSupervisor: "Konsollen er for teamledere og administratorer.", updated: "Opdateret",
    connection: "Forbindelsen er afbrudt; prøver igen …", queues: "Køer", queue: "Kø", channel: "Kanal",
    waiting: "Venter", oldest: "Længst ventet", serviceLevel: "Serviceniveau i dag", goal: "Mål",
    agents: "Medarbejdere", name: "Navn", state: "Status", since: "Siden", holding: "Har nu",
    actions: "Handlinger", timeline: "Henvendelsens forløb", reference: "Reference", show: "Vis",
    csat: "Tilfredshed", day: "Dag", all: "Alle", profile: "Medarbejderprofil", load: "Hent",
    skills: "Kompetencer (niveau 1–5, tom: ingen)", languages: "Sprog",
    capacity: "Samtidige henvendelser pr. kanal", counter: "Skranke", phone: "Telefon (+45…)",
    save: "Gem", saved: "Gemt.", admin: "Administration", staff: "Medarbejdere og adgang",
    fullName: "Navn", role: "Rolle", add: "Tilføj", tokenUntil: "Nøgle gælder til",
    sessions: "Aktive sessioner", via: "Logget ind med", lastSeen: "Sidst set", audit: "Revisionslog",
    export: "Hent som JSON-linjer", when: "Hvornår", who: "Hvem", what: "Hvad", about: "Om",
    takeBack: "Tag tilbage", setAvailable: "Klar", setAway: "Væk", setOffline: "Offline",
    disable: "Deaktiver", enable: "Aktiver", newToken: "Ny nøgle", revoke: "Tilbagekald nøgle",
    end: "Afslut", issuedToken: "Ny adgangsnøgle til {login} (vises kun nu): {token}",
    noAnswers: "Ingen svar.", score: "Karakter", comment: "Kommentar", at: "Tidspunkt",
    offers: "Tilbud", event: "Hændelse", actor: "Af", reason: "Begrundelse", outcome: "Udfald",
    green: "på mål", amber: "tæt på", red: "under mål", none: "–",
    available: "Klar", busy: "Optaget", away: "Væk", offline: "Offline", wrap_up: "Efterbehandling",
    offered: "tilbudt", active: "i gang", within: "{target} inden for {threshold}",
    unknownAgent: "Ingen medarbejderprofil for {login}: udfyld og gem for at oprette den.",
    closures: "Lukket ekstra", calendar: "Kalender", from: "Fra", to: "Til", why: "Hvorfor",
    close: "Luk", reopen: "Åbn igen", search: "Find en klient", find: "Søg",
    searchFor: "Reference, telefonnummer eller e-mailadresse", handledBy: "Behandlet af",
    purged: "slettet efter opbevaringstiden", found: "{n} henvendelser",
    whatif: "Hvad nu hvis",
    whatifIntro: "Spil arbejdsdage offline på routingmotoren, med flere politikker på de samme tilfældige udfald.",
    whatifStart: "Første dag (tom: i dag)", whatifDays: "Arbejdsdage (1–5)", whatifSeeds: "Kørsler pr. politik (1–20)",
    whatifScale: "Trafikfaktor (1: som planlagt)", whatifPolicies: "Politikker",
    policy_contactd: "contactd (tidligste løfte først)", policy_fifo: "FIFO (længst ventet først, til den længst ledige)",
    policy_skills: "Kompetencer (prioritet, så længst ventet)",
    name_contactd: "contactd", name_fifo: "FIFO", name_skills: "Kompetencer",
    whatifStaffing: "Bemanding", staffing_day_file: "De planlagte teams", staffing_profiles: "Dagens medarbejderprofiler",
    whatifTraffic: "Trafik", trafficModel: "Styrelsens model af året", trafficHistory: "Historikken fra dage i databasen",
    play: "Spil", playing: "Spiller dagene … det tager op til et halvt minut.", played: "Færdig: resultatet står herunder.",
    noPolicy: "Vælg mindst én politik.", whatifOn: "Hvad nu hvis: {days}", workingDays: "{n} arbejdsdage, {first} – {last}",
    seedsPerPolicy: "{n} kørsler pr. politik", seedsPerPolicy_one: "{n} kørsel pr. politik", agentsInTeams: "{n} medarbejdere ({teams})", agentsInTeams_one: "{n} medarbejder ({teams})", trafficTimes: "trafik × {scale}",
    historyNotes: "Om historikken", goalsMet: "Mål nået: {met} af {goals} ({surely} med 95 % sikkerhed)",
    offeredPerDay: "Tilbudt pr. dag", slInterval: "Serviceniveau (95 %-interval)", goalMet: "Nået?",
    answerRate: "Besvaret", abandonment: "Opgivet", asa: "Gns. ventetid til svar",
    metSure: "nået", metUnsure: "nået, usikkert", missedSure: "ikke nået", missedUnsure: "ikke nået, usikkert",
    few: "få henvendelser", occupancy: "Belægning",
    seconds: "{n} s", minutes: "{n} min", hours: "{n} t", "working hours": "{n} arbejdstimer", "working days": "{n} arbejdsdage",
    "working hours_one": "{n} arbejdstime", "working days_one": "{n} arbejdsdag",
    whatifLegend: "Hvert tal er gennemsnittet over kørslerne med dets 95 %-konfidensinterval. Nået / ikke nået: med 95 % sikkerhed; usikkert: gennemsnittet ligger på den ene side af målet, intervallet rækker over på den anden. Få henvendelser: under 10 pr. kørsel, vurderet på gennemsnittet. –: ingen henvendelser at tælle.",
    chartAlt: "Diagram over serviceniveauet pr. kø, kanal og politik med 95 %-interval, mod målet, {days}. {summary}",
    chartSummary: "{policy}: {met} af {goals} mål nået",
    downloadCsv: "Hent tallene som CSV", downloadPng: "Hent diagrammet som PNG",
    improvement: "Forbedringsrapport",
    improvementIntro: "Tallene til team- og afdelingsmødet: servicemål, tilfredshed, fejlefterspørgsel og klienternes kommentarer, sammenlignet med perioden før.",
    period: "Periode", lastWeek: "Sidste uge", chosenPeriod: "En valgt periode",
    followUpDays: "Opfølgningsvindue i dage (tom: det konfigurerede)", searchComments: "Søg i kommentarerne",
    fetching: "Henter rapporten …", fetched: "Rapporten står herunder.",
    improvementOn: "Forbedringsrapport {period}", comparedWith: "Sammenlignet med {period}", window: "opfølgningsvindue {days}",
    goalsHeading: "Servicemål", goalsSummary: "{met} af {n} mål nået; mål uden henvendelser i perioden tælles ikke med.",
    target: "Mål", slPeriod: "Serviceniveau", before: "Før", change: "Ændring",
    up: "{n} procentpoint op", down: "{n} procentpoint ned", unchanged: "uændret", yes: "ja", no: "nej",
    csatGoal: "Målet er et gennemsnit på mindst {goal} af 5.", answers: "Svar", mean: "Gennemsnit af 5",
    answersN: "{n} svar",
    failureDemand: "Fejlefterspørgsel",
    failureLine: "{share} af {n} henvendelser blev fulgt af en ny fra samme klient inden for {days}; løst ved første henvendelse {fcr}",
    failureLine_one: "{share} af {n} henvendelse blev fulgt af en ny fra samme klient inden for {days}; løst ved første henvendelse {fcr}",
    daysN: "{n} dage", daysN_one: "{n} dag", noContacts: "Ingen henvendelser i perioden.",
    finalOn: "Tallene er endelige den {day}: da lukker de sidste opfølgningsvinduer.",
    byChannel: "Pr. kanal", byCaseType: "Pr. sagstype", caseType: "Sagstype", contacts: "Henvendelser",
    followed: "Fulgt af en ny", fcr: "Løst ved første henvendelse",
    callbacksHeading: "Tilbagekald hvor klienten ikke blev nået", closed: "Afsluttet", notReached: "Ikke nået",
    share: "Andel", noCallbacks: "Ingen tilbagekald.",
    wrapUpsHeading: "Hvorfor klienterne henvendte sig (afslutningskoder)", code: "Afslutningskode",
    noWrapUps: "Ingen afslutningskoder.",
    correctionsHeading: "Klassifikatorens sagstyper rettet af medarbejdere",
    correctedOf: "{n} af {of} sorteret af klassifikatoren blev rettet ({share}).",
    sortedAs: "Sorteret som", correctedTo: "Rettet til", noCorrections: "Ingen rettet.",
    commentsHeading: "Kommentarer",
    commentsCount: "{n} kommentarer efter sagstype og afslutningskode; numre og adresser er skjult.",
    commentsMore: "Kun de nyeste {n} vises: søg for at finde andre.", offeredN: "Henvendelser",
    commentsCount_one: "{n} kommentar; numre og adresser er skjult.",
    commentsFound: "{n} kommentarer indeholder »{q}«.", commentsFound_one: "{n} kommentar indeholder »{q}«.",
    noComments: "Ingen kommentarer.", noWrapUp: "ingen afslutningskode",
    commentAbout: "{day} · {queue} · {channel} · karakter {score} af 5",
    improvementCsv: "Hent rapportens tal som CSV", improvementPng: "Hent rapportens diagram som PNG",
  },
  en: {
    title: "Console", language: "Language", signin: "Sign in", login: "User name", token: "Your access token",
    signinButton: "Sign in", signOut: "Sign out", badToken: "The user name or token is wrong.",
    locked: "Too many tries. Wait and try again.", ended: "You are signed out. Sign in again.",
    notSupervisor: "The console is for supervisors and administrators.", updated: "Updated",
    connection: "Connection lost; retrying …", queues: "Queues", queue: "Queue", channel: "Channel",
    waiting: "Waiting", oldest: "Longest wait", serviceLevel: "Service level today", goal: "Goal",
    agents: "Agents", name: "Name", state: "State", since: "Since", holding: "Holding",
    actions: "Actions", timeline: "Contact timeline", reference: "Reference", show: "Show",
    csat: "Satisfaction", day: "Day", all: "All", profile: "Agent profile", load: "Load",
    skills: "Skills (level 1–5, empty: none)", languages: "Languages",
    capacity: "Contacts at once per channel", counter: "Counter", phone: "Phone (+45…)",
    save: "Save", saved: "Saved.", admin: "Administration", staff: "Staff and access",
    fullName: "Name", role: "Role", add: "Add", tokenUntil: "Token valid until",
    sessions: "Live sessions", via: "Signed in with", lastSeen: "Last seen", audit: "Audit log",
    export: "Download as JSON lines", when: "When", who: "Who", what: "What", about: "About",
    takeBack: "Take back", setAvailable: "Available", setAway: "Away", setOffline: "Offline",
    disable: "Disable", enable: "Enable", newToken: "New token", revoke: "Revoke token",
    end: "End", issuedToken: "New access token for {login} (shown only now): {token}",
    noAnswers: "No answers.", score: "Score", comment: "Comment", at: "Time",
    offers: "Offers", event: "Event", actor: "By", reason: "Reason", outcome: "Outcome",
    green: "on target", amber: "close", red: "below target", none: "–",
    available: "Available", busy: "Busy", away: "Away", offline: "Offline", wrap_up: "Wrap-up",
    offered: "offered", active: "active", within: "{target} within {threshold}",
    unknownAgent: "No agent profile for {login}: fill it in and save to create it.",
    closures: "Extra closures", calendar: "Calendar", from: "From", to: "To", why: "Why",
    close: "Close", reopen: "Reopen", search: "Find a client", find: "Search",
    searchFor: "Reference, phone number or e-mail address", handledBy: "Handled by",
    purged: "deleted after the retention period", found: "{n} contacts",
    whatif: "What if",
    whatifIntro: "Play working days offline on the routing engine, several policies on the same random draws.",
    whatifStart: "First day (empty: today)", whatifDays: "Working days (1–5)", whatifSeeds: "Runs per policy (1–20)",
    whatifScale: "Traffic factor (1: as planned)", whatifPolicies: "Policies",
    policy_contactd: "contactd (earliest promise first)", policy_fifo: "FIFO (longest wait first, to the longest idle)",
    policy_skills: "Skills (priority, then longest wait)",
    name_contactd: "contactd", name_fifo: "FIFO", name_skills: "Skills",
    whatifStaffing: "Staffing", staffing_day_file: "The planned teams", staffing_profiles: "Today's agent profiles",
    whatifTraffic: "Traffic", trafficModel: "The agency's model of the year", trafficHistory: "The history of days in the database",
    play: "Play", playing: "Playing the days … this takes up to half a minute.", played: "Done: the result is below.",
    noPolicy: "Choose at least one policy.", whatifOn: "What if: {days}", workingDays: "{n} working days, {first} – {last}",
    seedsPerPolicy: "{n} runs per policy", seedsPerPolicy_one: "{n} run per policy", agentsInTeams: "{n} agents ({teams})", agentsInTeams_one: "{n} agent ({teams})", trafficTimes: "traffic × {scale}",
    historyNotes: "About the history", goalsMet: "Goals met: {met} of {goals} ({surely} with 95 % confidence)",
    offeredPerDay: "Offered per day", slInterval: "Service level (95 % interval)", goalMet: "Met?",
    answerRate: "Answered", abandonment: "Abandoned", asa: "Average speed of answer",
    metSure: "met", metUnsure: "met, not surely", missedSure: "not met", missedUnsure: "not met, not surely",
    few: "few contacts", occupancy: "Occupancy",
    seconds: "{n} s", minutes: "{n} min", hours: "{n} h", "working hours": "{n} working hours", "working days": "{n} working days",
    "working hours_one": "{n} working hour", "working days_one": "{n} working day",
    whatifLegend: "Each figure is the mean over the runs with its 95 % confidence interval. Met / not met: with 95 % confidence; not surely: the mean is on one side of the target, the interval reaches the other. Few contacts: under 10 a run, judged on the mean. –: no contacts to count.",
    chartAlt: "Chart of the service level per queue, channel and policy with its 95 % interval, against the target, {days}. {summary}",
    chartSummary: "{policy}: {met} of {goals} goals met",
    downloadCsv: "Download the figures as CSV", downloadPng: "Download the chart as PNG",
    improvement: "Improvement report",
    improvementIntro: "The figures for the team or division meeting: service goals, satisfaction, failure demand and the clients' comments, compared with the period before.",
    period: "Period", lastWeek: "Last week", chosenPeriod: "A chosen period",
    followUpDays: "Follow-up window in days (empty: the configured one)", searchComments: "Search the comments",
    fetching: "Fetching the report …", fetched: "The report is below.",
    improvementOn: "Improvement report {period}", comparedWith: "Compared with {period}", window: "follow-up window {days}",
    goalsHeading: "Service goals", goalsSummary: "{met} of {n} goals met; goals with no contacts in the period are not counted.",
    goalsSummary_one: "{met} of {n} goal met; goals with no contacts in the period are not counted.",
    target: "Target", slPeriod: "Service level", before: "Before", change: "Change",
    up: "up {n} percentage points", down: "down {n} percentage points", unchanged: "unchanged", yes: "yes", no: "no",
    csatGoal: "The goal is a mean of at least {goal} of 5.", answers: "Answers", mean: "Mean of 5",
    answersN: "{n} answers", answersN_one: "{n} answer",
    failureDemand: "Failure demand",
    failureLine: "{share} of {n} contacts were followed by another from the same client within {days}; first-contact resolution {fcr}",
    failureLine_one: "{share} of {n} contact was followed by another from the same client within {days}; first-contact resolution {fcr}",
    daysN: "{n} days", daysN_one: "{n} day", noContacts: "No contacts in the period.",
    finalOn: "The figures are final on {day}: the last follow-up windows close then.",
    byChannel: "Per channel", byCaseType: "Per case type", caseType: "Case type", contacts: "Contacts",
    followed: "Followed by another", fcr: "First-contact resolution",
    callbacksHeading: "Callbacks whose client was not reached", closed: "Closed", notReached: "Not reached",
    share: "Share", noCallbacks: "No callbacks.",
    wrapUpsHeading: "Why clients contacted us (wrap-up codes)", code: "Wrap-up code",
    noWrapUps: "No wrap-up codes.",
    correctionsHeading: "The classifier's case types corrected by staff",
    correctedOf: "{n} of {of} sorted by the classifier were corrected ({share}).",
    correctedOf_one: "{n} of {of} sorted by the classifier was corrected ({share}).",
    sortedAs: "Sorted as", correctedTo: "Corrected to", noCorrections: "None corrected.",
    commentsHeading: "Comments",
    commentsCount: "{n} comments by case type and wrap-up code; numbers and addresses are masked.",
    commentsMore: "Only the newest {n} are shown: search to find others.", offeredN: "Contacts",
    commentsCount_one: "{n} comment; numbers and addresses are masked.",
    commentsFound: "{n} comments contain “{q}”.", commentsFound_one: "{n} comment contains “{q}”.",
    noComments: "No comments.", noWrapUp: "no wrap-up code",
    commentAbout: "{day} · {queue} · {channel} · score {score} of 5",
    improvementCsv: "Download the report's figures as CSV", improvementPng: "Download the report's chart as PNG",
  },
};
const ROLES = ["agent", "frontdesk", "supervisor", "admin"];
const CHANNELS = ["call", "callback", "email", "ticket"];

// Staff pages speak Danish and English; a client language chosen on a public page in the same
// browser (Arabic at the kiosk, say) is not one of them.
const storedLang = localStorage.getItem("contactd.lang");
let lang = storedLang in TEXTS ? storedLang : (navigator.language.startsWith("da") ? "da" : "en");
let reference = { case_types: [], queues: [] };
let view = null;
let live = null;

const $ = (id) => document.getElementById(id);
const t = (key) => TEXTS[lang][key] ?? key;
const api = (method, path, body) => staffSession.api(method, path, body);

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  row.append(td);
  return td;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", () => Promise.resolve(onClick()).then(() => ($("error").textContent = ""), showError));
  return b;
}

function showError(error) {
  $("error").textContent = error.message;
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h} t ${m} min`.replace(" t ", lang === "da" ? " t " : " h ") : `${m}:${String(s % 60).padStart(2, "0")}`;
}

function clock(iso) {
  return new Date(iso).toLocaleString(lang === "da" ? "da-DK" : "en-GB");
}

function translate() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  if (view) render(view);
  if (whatif) renderWhatif();
  if (improvement) renderImprovement();
}

function render(data) {
  view = data;
  daemonClock.heard(data.at);
  $("updated").textContent = clock(data.at);
  keepingFocus(() => {
    renderQueues(data.queues);
    renderAgents(data.agents);
  });
}

// A live update redraws the tables: the control a supervisor was on keeps the focus.
function keepingFocus(draw) {
  const label = document.activeElement?.getAttribute("aria-label") || document.activeElement?.textContent;
  const inTables = document.activeElement?.closest("#queues, #agents");
  draw();
  if (!inTables || !label) return;
  const again = [...document.querySelectorAll("#agents button")].find(
    (b) => (b.getAttribute("aria-label") || b.textContent) === label,
  );
  again?.focus();
}

function tick() {
  for (const since of document.querySelectorAll("[data-since]")) {
    since.textContent = duration((daemonClock.now() - new Date(since.dataset.since)) / 1000);
  }
}

function renderQueues(queues) {
  const body = $("queues");
  body.replaceChildren();
  for (const q of queues) {
    for (const c of q.channels) {
      const row = document.createElement("tr");
      cell(row, q[lang]);
      cell(row, c.channel);
      cell(row, String(c.waiting), "number");
      cell(row, duration(c.oldest_wait_seconds), "number");
      const level = cell(row, "");
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.dataset.colour = c.colour;
      const percent = c.service_level === null ? t("none") : `${Math.round(c.service_level * 100)} %`;
      chip.textContent = `${percent} · ${t(c.colour)}`;
      level.append(chip);
      const goal = c.target === null ? t("none") : t("within")
        .replace("{target}", `${Math.round(c.target * 100)} %`)
        .replace("{threshold}", c.threshold_seconds === null ? "…" : duration(c.threshold_seconds));
      cell(row, goal);
      body.append(row);
    }
  }
}

function renderAgents(agents) {
  const body = $("agents");
  body.replaceChildren();
  for (const a of agents) {
    const row = document.createElement("tr");
    row.dataset.login = a.login;
    cell(row, `${a.name} (${a.login})`);
    const state = cell(row, t(a.state), "state");
    state.dataset.state = a.state;
    cell(row, duration((daemonClock.now() - new Date(a.since)) / 1000)).dataset.since = a.since;
    const holding = cell(row, "");
    for (const h of a.holding) {
      const item = document.createElement("div");
      item.textContent = `${h.reference} · ${h.channel} · ${t(h.state)} `;
      if (h.state === "active" && !["call", "callback"].includes(h.channel)) {
        item.append(button(`${t("takeBack")} ${h.reference}`, () => api("POST", `/api/contacts/${h.reference}/take-back`)));
      }
      holding.append(item);
    }
    const actions = cell(row, "");
    for (const [state, label] of [["available", "setAvailable"], ["away", "setAway"], ["offline", "setOffline"]]) {
      if (state === a.state) continue;
      const b = button(t(label), () => api("POST", `/api/agents/${a.login}/state`, { state }));
      b.setAttribute("aria-label", `${t(label)}: ${a.name}`);
      actions.append(b);
    }
    body.append(row);
  }
}

async function showTimeline(event) {
  event.preventDefault();
  const data = await api("GET", `/api/contacts/${encodeURIComponent($("reference").value.trim())}/timeline`);
  const box = $("timeline");
  box.replaceChildren();
  const events = table([t("at"), t("event"), t("state"), t("actor"), t("reason")], data.history.map((e) => [
    clock(e.at), e.action, `${e.from_state ?? ""} → ${e.to_state}`, e.actor, JSON.stringify(e.reason ?? {}),
  ]));
  const heading = document.createElement("h3");
  heading.textContent = t("offers");
  const offers = table([t("at"), t("who"), t("outcome"), t("reason")], data.offers.map((o) => [
    clock(o.offered_at), o.login, o.outcome ?? "", JSON.stringify(o.reason),
  ]));
  box.append(events, heading, offers);
}

function table(headings, rows) {
  const element = document.createElement("table");
  const head = element.createTHead().insertRow();
  for (const h of headings) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    head.append(th);
  }
  const body = element.createTBody();
  for (const values of rows) {
    const row = body.insertRow();
    for (const v of values) cell(row, v);
  }
  return element;
}

async function showCsat(event) {
  event?.preventDefault();
  const query = new URLSearchParams();
  for (const [key, id] of [["day", "csatDay"], ["queue", "csatQueue"], ["channel", "csatChannel"]]) {
    if ($(id).value) query.set(key, $(id).value);
  }
  const data = await api("GET", `/api/csat?${query}`);
  const box = $("csat");
  box.replaceChildren();
  if (!data.answers.length) {
    box.textContent = t("noAnswers");
    return;
  }
  box.append(table([t("at"), t("queue"), t("channel"), t("score"), t("comment"), t("reference")],
    data.answers.map((a) => [clock(a.answered_at), a.queue, a.channel, String(a.score), a.comment ?? "", a.reference])));
}

async function search(event) {
  event.preventDefault();
  const found = await api("GET", `/api/search?q=${encodeURIComponent($("searchText").value.trim())}`);
  const box = $("searchResult");
  const count = Object.assign(document.createElement("p"), { textContent: t("found").replace("{n}", found.contacts.length) });
  box.replaceChildren(count, table([t("at"), t("reference"), t("channel"), t("queue"), t("outcome"), t("handledBy")],
    found.contacts.map((c) => [clock(c.created_at), c.reference, c.channel, c.queue,
      c.purged ? t("purged") : c.outcome ?? c.state, c.handled_by ?? ""])));
}

function profileInputs() {
  $("skills").replaceChildren(...reference.case_types.map((c) => labelled(`skill-${c.code}`, c[lang], "number", { min: 1, max: 5 })));
  $("capacity").replaceChildren(...CHANNELS.map((c) => labelled(`capacity-${c}`, c, "number", { min: 0, max: 50 })));
}

function labelled(id, text, type, limits) {
  const label = document.createElement("label");
  label.textContent = `${text} `;
  const input = document.createElement("input");
  input.id = id;
  input.type = type;
  Object.assign(input, limits);
  label.append(input);
  return label;
}

async function loadProfile() {
  const login = $("profileLogin").value.trim().toLowerCase();
  const { agents } = await api("GET", "/api/agents");
  const agent = agents.find((a) => a.login === login);
  $("profileSaved").textContent = agent ? "" : t("unknownAgent").replace("{login}", login);
  for (const c of reference.case_types) $(`skill-${c.code}`).value = agent?.skills[c.code] ?? "";
  for (const c of CHANNELS) $(`capacity-${c}`).value = agent?.capacity[c] ?? { call: 1, callback: 1, email: 3, ticket: 1 }[c];
  for (const box of document.querySelectorAll("input[name=language]")) box.checked = agent ? agent.languages.includes(box.value) : box.value === "da";
  $("profileCounter").value = agent?.counter ?? "";
  $("profilePhone").value = agent?.phone ?? "";
}

async function saveProfile(event) {
  event.preventDefault();
  const login = $("profileLogin").value.trim().toLowerCase();
  const skills = {};
  for (const c of reference.case_types) {
    const level = $(`skill-${c.code}`).value;
    if (level) skills[c.code] = Number(level);
  }
  const capacity = Object.fromEntries(CHANNELS.map((c) => [c, Number($(`capacity-${c}`).value || 0)]));
  const languages = [...document.querySelectorAll("input[name=language]:checked")].map((b) => b.value);
  const body = { skills, languages, capacity, counter: $("profileCounter").value.trim() || null, phone: $("profilePhone").value.trim() || null };
  await api("PUT", `/api/agents/${encodeURIComponent(login)}`, body);
  $("profileSaved").textContent = t("saved");
}

async function showClosures() {
  const { calendars } = await api("GET", "/api/calendars");
  const select = $("closureCalendar");
  if (!select.options.length) select.replaceChildren(...calendars.map((c) => new Option(c.name, c.name)));
  const body = $("closures");
  body.replaceChildren();
  for (const c of calendars.flatMap((calendar) => calendar.closures)) {
    const row = body.insertRow();
    for (const v of [c.calendar, clock(c.starts_at), clock(c.ends_at), c.reason]) cell(row, v);
    cell(row, "").append(button(`${t("reopen")} ${c.calendar} ${clock(c.starts_at)}`,
      () => api("DELETE", `/api/calendars/${c.calendar}/closures/${c.id}`).then(showClosures)));
  }
}

async function addClosure(event) {
  event.preventDefault();
  // The times as the supervisor's browser reads them, sent with their offset.
  const at = (id) => new Date($(id).value).toISOString();
  await api("POST", `/api/calendars/${$("closureCalendar").value}/closures`, {
    starts_at: at("closureFrom"), ends_at: at("closureTo"), reason: $("closureReason").value.trim(),
  });
  $("closureForm").reset();
  await showClosures();
}

// What if: days played offline on the routing engine (POST /api/whatif, seconds to run). The
// answer is kept, with its downloads and chart, so that a change of language redraws it.
let whatif = null;  // {data, csvUrl, pngUrl, chart}

// A text with its {names} filled in; `key_one` where there is one and n is 1.
const fill = (key, values) => Object.entries(values).reduce((text, [k, v]) => text.replaceAll(`{${k}}`, v),
  t(values.n === 1 && `${key}_one` in TEXTS[lang] ? `${key}_one` : key));
const locale = () => (lang === "da" ? "da-DK" : "en-GB");

function showHistoryDays() {
  const history = document.querySelector("input[name=whatifTraffic]:checked").value === "history";
  $("whatifHistory").hidden = !history;
  for (const id of ["whatifFirst", "whatifLast"]) $(id).required = history;
}

function whatifBody() {
  const policies = [...document.querySelectorAll("input[name=whatifPolicy]:checked")].map((b) => b.value);
  if (!policies.length) throw new Error(t("noPolicy"));
  const history = document.querySelector("input[name=whatifTraffic]:checked").value === "history";
  const body = {
    days: Number($("whatifDays").value),
    seeds: Number($("whatifSeeds").value),
    policies,
    scale: Number($("whatifScale").value),
    staffing: document.querySelector("input[name=whatifStaffing]:checked").value,
    history: history ? { first: $("whatifFirst").value, last: $("whatifLast").value } : null,
  };
  if ($("whatifStart").value) body.start = $("whatifStart").value;
  return body;
}

async function playWhatif(event) {
  event.preventDefault();
  const body = whatifBody();
  const play = $("whatifPlay");
  play.disabled = true;
  $("whatifResult").setAttribute("aria-busy", "true");
  $("whatifStatus").textContent = t("playing");
  try {
    const data = await api("POST", "/api/whatif", body);
    const png = data.png ? new Blob([Uint8Array.from(atob(data.png), (c) => c.charCodeAt(0))], { type: "image/png" }) : null;
    // The page may show no image from data: or blob: addresses (its Content Security Policy
    // allows only its own origin): the chart is decoded here and drawn on a canvas.
    const chart = png ? await createImageBitmap(png) : null;
    if (whatif) for (const url of [whatif.csvUrl, whatif.pngUrl]) if (url) URL.revokeObjectURL(url);
    whatif = {
      data,
      csvUrl: URL.createObjectURL(new Blob([data.csv], { type: "text/csv;charset=utf-8" })),
      pngUrl: png ? URL.createObjectURL(png) : null,
      chart,
    };
    renderWhatif();
    $("error").textContent = "";
    $("whatifStatus").textContent = t("played");
  } catch (error) {
    $("whatifStatus").textContent = "";
    throw error;
  } finally {
    play.disabled = false;
    $("whatifResult").removeAttribute("aria-busy");
  }
}

function day(iso) {
  return new Date(`${iso}T12:00:00Z`).toLocaleDateString(locale(), {
    timeZone: "UTC", weekday: "long", day: "numeric", month: "long", year: "numeric",
  });
}

function percentOf(share) {
  return `${Math.round(share * 100)} %`;
}

// A figure over the runs: its mean and 95 % interval ("85 % (82–88 %)"), a share kept within
// 0 and 100 %, a wait at or above 0; one figure alone when the interval is no wider.
function estimate(e, shown, top = 1) {
  if (!e || e.mean === null) return t("none");
  const low = shown(Math.max(e.low, 0));
  const high = shown(top === null ? e.high : Math.min(e.high, top));
  const mean = shown(e.mean);
  if (low === high) return mean;
  return `${mean} (${low.replace(/ (%|min)$/, "")}–${high})`;
}

// A wait over the runs, its mean and interval in one unit: m:ss, or whole minutes when the
// interval reaches past ten.
function waited(e) {
  const shown = e?.high < 600 ? duration : (seconds) => `${Math.round(seconds / 60)} min`;
  return estimate(e, shown, null);
}

// The goal's threshold in its own words ("5 min", "4 arbejdstimer"): a goal in working time
// has no fixed number of seconds.
function threshold({ amount, unit }) {
  return fill(unit, { n: amount });
}

function verdict(row) {
  if (row.met === null || row.met === undefined) return { text: t("none"), kind: "none" };
  if (row.met) return row.surely_met ? { text: t("metSure"), kind: "met" } : { text: t("metUnsure"), kind: "unsure" };
  const surelyMissed = row.few || (row.service_level && row.service_level.high < row.target);
  return surelyMissed ? { text: t("missedSure"), kind: "missed" } : { text: t("missedUnsure"), kind: "unsure" };
}

function queueName(row) {
  return row.queue_names?.[lang] ?? reference.queues.find((q) => q.code === row.queue)?.[lang] ?? row.queue;
}

function policyName(name) {
  return TEXTS[lang][`name_${name}`] ?? name;
}

function renderWhatif() {
  const { data, csvUrl, pngUrl, chart } = whatif;
  const box = $("whatifResult");
  const element = (tag, text, attributes = {}) => Object.assign(document.createElement(tag), { textContent: text ?? "" }, attributes);
  const [first, last] = [data.days[0], data.days[data.days.length - 1]];
  const span = data.days.length === 1 ? day(first) : fill("workingDays", { n: data.days.length, first: day(first), last: day(last) });
  const teams = Object.entries(data.agents);
  const agents = teams.reduce((sum, [, n]) => sum + n, 0);
  const about = [
    fill("seedsPerPolicy", { n: data.seeds }),
    fill("agentsInTeams", { n: agents, teams: teams.map(([team, n]) => `${team} ${n}`).join(", ") }),
    t(`staffing_${data.staffing}`),
  ];
  if (data.scale !== 1) about.push(fill("trafficTimes", { scale: data.scale.toLocaleString(locale()) }));
  const parts = [element("h3", fill("whatifOn", { days: span })), element("p", about.join(" · "), { className: "whatifAbout" })];
  if (data.notes?.length) {
    const notes = element("ul", "", { lang: "en" });  // the lab's own lines, in English
    notes.append(...data.notes.map((line) => element("li", line)));
    parts.push(element("h4", t("historyNotes")), notes);
  }
  for (const policy of data.policies) {
    const headingId = `whatif-${policy.name}`;
    const surely = policy.surely_met ?? policy.rows.filter((r) => r.surely_met).length;
    parts.push(
      element("h4", policyName(policy.name), { id: headingId }),
      element("p", fill("goalsMet", { met: policy.met, goals: policy.goals, surely }), { className: "goalsMet" }),
      whatifTable(policy, headingId),
    );
    if (policy.occupancy?.length) {
      const shares = policy.occupancy.map((o) => `${o.team} ${estimate(o, percentOf)}`).join(", ");
      parts.push(element("p", `${t("occupancy")}: ${shares}`));
    }
  }
  parts.push(element("p", t("whatifLegend"), { className: "hint" }));
  if (chart) {
    // A canvas standing for the image: its name says what it shows, the tables above give
    // every figure.
    const canvas = element("canvas", "", { width: chart.width, height: chart.height, className: "whatifChart" });
    canvas.getContext("2d").drawImage(chart, 0, 0);
    canvas.setAttribute("role", "img");
    const summary = data.policies.map((p) => fill("chartSummary", { policy: policyName(p.name), met: p.met, goals: p.goals })).join("; ");
    canvas.setAttribute("aria-label", fill("chartAlt", { days: span, summary: `${summary}.` }));
    parts.push(canvas);
  }
  const downloads = element("p", "", { className: "downloads" });
  downloads.append(element("a", t("downloadCsv"), { href: csvUrl, download: `whatif-${first}.csv` }));
  if (pngUrl) downloads.append(" · ", element("a", t("downloadPng"), { href: pngUrl, download: `whatif-${first}.png` }));
  parts.push(downloads);
  box.replaceChildren(...parts);
}

function whatifTable(policy, headingId) {
  const element = document.createElement("table");
  element.setAttribute("aria-labelledby", headingId);
  element.className = "whatif";
  const head = element.createTHead().insertRow();
  for (const key of ["queue", "channel", "goal", "offeredPerDay", "slInterval", "goalMet", "answerRate", "abandonment", "asa"]) {
    head.append(Object.assign(document.createElement("th"), { scope: "col", textContent: t(key) }));
  }
  const body = element.createTBody();
  for (const r of policy.rows) {
    const row = body.insertRow();
    row.dataset.queue = r.queue;
    row.dataset.channel = r.channel;
    row.append(Object.assign(document.createElement("th"), { scope: "row", textContent: queueName(r) }));
    cell(row, r.channel);
    cell(row, t("within").replace("{target}", percentOf(r.target)).replace("{threshold}", threshold(r.threshold)));
    cell(row, r.offered_per_day === null || r.offered_per_day === undefined ? t("none")
      : r.offered_per_day.toLocaleString(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }), "number");
    cell(row, estimate(r.service_level, percentOf), "number");
    const { text, kind } = verdict(r);
    const met = cell(row, "");
    met.append(Object.assign(document.createElement("span"), { className: "met", textContent: text }));
    met.firstChild.dataset.met = kind;  // its colour; the words say it all
    if (r.few && r.met !== null) {
      met.append(" ", Object.assign(document.createElement("span"), { className: "few", textContent: `(${t("few")})` }));
    }
    cell(row, estimate(r.answer_rate, percentOf), "number");
    cell(row, estimate(r.abandonment, percentOf), "number");
    cell(row, waited(r.asa_seconds), "number");
  }
  return element;
}

// The improvement report (GET /api/improvement): a week or a chosen period beside the period
// before, to read at a team meeting. The answer is kept with the words searched for, so that a
// change of language redraws it and its downloads are of the same period and comments.
let improvement = null;  // {data, searched}

function showImprovementDays() {
  const chosen = document.querySelector("input[name=improvementPeriod]:checked").value === "chosen";
  $("improvementDays").hidden = !chosen;
  for (const id of ["improvementFirst", "improvementLast"]) $(id).required = chosen;
}

// Last week is the API's own default: the page never reckons "today" by the browser's clock.
function improvementQuery() {
  const query = new URLSearchParams();
  if (document.querySelector("input[name=improvementPeriod]:checked").value === "chosen") {
    query.set("first", $("improvementFirst").value);
    query.set("last", $("improvementLast").value);
  }
  if ($("improvementFollowUp").value) query.set("follow_up_days", $("improvementFollowUp").value);
  const words = $("improvementSearch").value.trim();
  if (words) query.set("q", words);
  return query;
}

async function showImprovement(event) {
  event.preventDefault();
  const query = improvementQuery();
  const show = $("improvementShow");
  show.disabled = true;
  $("improvementResult").setAttribute("aria-busy", "true");
  improvementSays("fetching");
  try {
    const data = await api("GET", `/api/improvement?${query}`);
    improvement = { data, searched: query.get("q") };
    renderImprovement();
    $("error").textContent = "";
    improvementSays("fetched");
  } catch (error) {
    improvementSays(null);
    throw error;
  } finally {
    show.disabled = false;
    $("improvementResult").removeAttribute("aria-busy");
  }
}

// The section's status, in the language chosen (translate() redraws every data-t).
function improvementSays(key) {
  const status = $("improvementStatus");
  if (key) status.dataset.t = key;
  else delete status.dataset.t;
  status.textContent = key ? t(key) : "";
}

// The same report as a file: the period shown (not "last week" again, which may have moved
// on), its follow-up window and search. A plain link: the session's cookie signs the GET.
function improvementFile({ data, searched }, format) {
  const query = new URLSearchParams({
    first: data.period.first, last: data.period.last, follow_up_days: data.follow_up_days, format,
  });
  if (searched) query.set("q", searched);
  return `/api/improvement?${query}`;
}

const node = (tag, text, attributes = {}) => Object.assign(document.createElement(tag), { textContent: text ?? "" }, attributes);

function longDate(iso) {
  return new Date(`${iso}T12:00:00Z`).toLocaleDateString(locale(), { timeZone: "UTC", day: "numeric", month: "long", year: "numeric" });
}

// "2026-W48" for a Monday to Sunday (the ISO week its Thursday is in).
function isoWeek(first, last) {
  const monday = new Date(`${first}T12:00:00Z`);
  const days = Math.round((new Date(`${last}T12:00:00Z`) - monday) / 86_400_000) + 1;
  if (days !== 7 || monday.getUTCDay() !== 1) return null;
  const thursday = new Date(monday.getTime() + 3 * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1, 12)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(week).padStart(2, "0")}`;
}

// A period in words: its ISO week (the API's label, or reckoned), and its days.
function periodText({ first, last, label }) {
  if (first === last) return longDate(first);
  const dates = `${longDate(first)} – ${longDate(last)}`;
  const week = /^\d{4}-W\d{2}$/.test(label ?? "") ? label : isoWeek(first, last);
  return week ? `${week} (${dates})` : dates;
}

// A share to one decimal ("12,3 %"; a goal's target "80 %"), a mean score to two.
function shareOf(value, decimals = 1) {
  return value === null || value === undefined ? t("none")
    : `${(value * 100).toLocaleString(locale(), { minimumFractionDigits: decimals, maximumFractionDigits: 1 })} %`;
}

function meanScore(value) {
  return value === null || value === undefined ? t("none")
    : value.toLocaleString(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function caseTypeName(code) {
  return reference.case_types.find((c) => c.code === code)?.[lang] ?? code;
}

function wrapUpName(code) {
  return code ? reference.wrap_up_codes?.[code]?.[lang] ?? code : t("noWrapUp");
}

// The service level's change in percentage points: its arrow, and the words that say it.
function changeOf(value) {
  if (value === null || value === undefined) return t("none");
  const points = Math.round(Math.abs(value) * 1000) / 10;
  if (points === 0) return t("unchanged");
  const words = fill(value > 0 ? "up" : "down", { n: points.toLocaleString(locale(), { minimumFractionDigits: 1 }) });
  const arrow = node("span", value > 0 ? "▲ " : "▼ ");
  arrow.setAttribute("aria-hidden", "true");  // the words say which way
  const span = node("span", "", { className: "change" });
  span.append(arrow, words);
  return span;
}

function verdictOf(met) {
  if (met === null || met === undefined) return t("none");
  const word = node("span", t(met ? "yes" : "no"), { className: "met" });
  word.dataset.met = met ? "met" : "missed";  // its colour; the word says it all
  return word;
}

// A table named by its heading(s); each row's first cell its header, the columns `numbers`
// right-aligned; a cell a text or a node.
function reportTable(labelledBy, columns, rows, numbers = []) {
  const element = node("table", "", { className: "improvement" });
  element.setAttribute("aria-labelledby", labelledBy);
  const head = element.createTHead().insertRow();
  for (const key of columns) head.append(node("th", t(key), { scope: "col" }));
  const body = element.createTBody();
  for (const { cells, data = {} } of rows) {
    const row = body.insertRow();
    Object.assign(row.dataset, data);
    cells.forEach((value, i) => {
      const c = i === 0 ? node("th", "", { scope: "row" }) : node("td", "");
      if (numbers.includes(i)) c.className = "number";
      c.append(value ?? "");
      row.append(c);
    });
  }
  return element;
}

function reportHeading(level, key, id) {
  return node(`h${level}`, t(key), { id: `improvement-${id}` });
}

function renderImprovement() {
  const { data, searched } = improvement;
  const parts = [
    node("h3", fill("improvementOn", { period: periodText(data.period) })),
    node("p", `${fill("comparedWith", { period: periodText(data.before) })} · ${fill("window", { days: fill("daysN", { n: data.follow_up_days }) })}`,
      { className: "improvementAbout" }),
    ...improvementGoals(data), ...improvementSatisfaction(data), ...improvementRepeats(data),
    ...improvementCallbacks(data), ...improvementWrapUps(data), ...improvementCorrections(data),
    ...improvementComments(data, searched),
  ];
  const downloads = node("p", "", { className: "downloads" });
  downloads.append(
    node("a", t("improvementCsv"), { href: improvementFile(improvement, "csv"), download: "" }), " · ",
    node("a", t("improvementPng"), { href: improvementFile(improvement, "png"), download: "" }),
  );
  parts.push(downloads);
  $("improvementResult").replaceChildren(...parts);
}

function improvementGoals(data) {
  const measured = data.goals.filter((g) => g.met !== null);
  const met = measured.filter((g) => g.met).length;
  const rows = data.goals.map((g) => ({
    data: { queue: g.queue, channel: g.channel },
    cells: [queueName(g), g.channel,
      g.threshold ? t("within").replace("{target}", shareOf(g.target, 0)).replace("{threshold}", threshold(g.threshold)) : shareOf(g.target, 0),
      String(g.offered), shareOf(g.service_level), shareOf(g.before), changeOf(g.change), verdictOf(g.met)],
  }));
  return [
    reportHeading(4, "goalsHeading", "goals"),
    node("p", fill("goalsSummary", { met, n: measured.length }), { className: "goalsMet" }),
    reportTable("improvement-goals", ["queue", "channel", "target", "offeredN", "slPeriod", "before", "change", "goalMet"], rows, [3, 4, 5]),
  ];
}

function improvementSatisfaction(data) {
  const goal = data.csat_goal.toLocaleString(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const parts = [reportHeading(4, "csat", "csat"), node("p", fill("csatGoal", { goal }))];
  if (!data.satisfaction.length) return [...parts, node("p", t("noAnswers"))];
  const rows = data.satisfaction.map((s) => ({
    data: { queue: s.queue, channel: s.channel },
    cells: [queueName(s), s.channel, String(s.answers), meanScore(s.mean),
      verdictOf(s.mean === null ? null : s.mean >= data.csat_goal),
      s.before_answers ? `${meanScore(s.before_mean)} (${fill("answersN", { n: s.before_answers })})` : t("none")],
  }));
  return [...parts, reportTable("improvement-csat", ["queue", "channel", "answers", "mean", "goalMet", "before"], rows, [2, 3])];
}

function repeatCells(r) {
  return [String(r.contacts), String(r.followed), shareOf(r.failure_demand), shareOf(r.first_contact_resolution)];
}

function improvementRepeats(data) {
  const every = data.failure_demand;
  const line = fill("failureLine", {
    share: shareOf(every.failure_demand), n: every.contacts, days: fill("daysN", { n: data.follow_up_days }),
    fcr: shareOf(every.first_contact_resolution),
  });
  // Per channel, the case types with the most failure demand first (as the report's text).
  const order = (r) => [CHANNELS.indexOf(r.channel), -(r.failure_demand ?? 0)];
  const byCaseType = [...data.by_case_type].sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || x[1] - y[1];
  });
  const columns = ["contacts", "followed", "failureDemand", "fcr"];
  if (!every.contacts) return [reportHeading(4, "failureDemand", "repeats"), node("p", t("noContacts"))];
  return [
    reportHeading(4, "failureDemand", "repeats"),
    node("p", line, { className: "failureLine" }),
    node("p", fill("finalOn", { day: longDate(data.final_on) }), { className: "hint" }),
    reportHeading(5, "byChannel", "byChannel"),
    reportTable("improvement-repeats improvement-byChannel", ["channel", ...columns],
      data.by_channel.map((r) => ({ data: { channel: r.channel }, cells: [r.channel, ...repeatCells(r)] })), [1, 2, 3, 4]),
    reportHeading(5, "byCaseType", "byCaseType"),
    reportTable("improvement-repeats improvement-byCaseType", ["caseType", "channel", ...columns],
      byCaseType.map((r) => ({ data: { caseType: r.case_type, channel: r.channel }, cells: [caseTypeName(r.case_type), r.channel, ...repeatCells(r)] })),
      [2, 3, 4, 5]),
  ];
}

function improvementCallbacks(data) {
  const parts = [reportHeading(4, "callbacksHeading", "callbacks")];
  if (!data.callbacks.length) return [...parts, node("p", t("noCallbacks"))];
  const rows = data.callbacks.map((c) => ({
    data: { queue: c.queue },
    cells: [queueName(c), String(c.closed), String(c.not_reached), shareOf(c.closed ? c.not_reached / c.closed : null)],
  }));
  return [...parts, reportTable("improvement-callbacks", ["queue", "closed", "notReached", "share"], rows, [1, 2, 3])];
}

function improvementWrapUps(data) {
  const parts = [reportHeading(4, "wrapUpsHeading", "wrapUps")];
  if (!data.wrap_ups.length) return [...parts, node("p", t("noWrapUps"))];
  const rows = data.wrap_ups.map((w) => ({ data: { queue: w.queue, code: w.code }, cells: [queueName(w), wrapUpName(w.code), String(w.contacts)] }));
  return [...parts, reportTable("improvement-wrapUps", ["queue", "code", "contacts"], rows, [2])];
}

function improvementCorrections(data) {
  const fixed = data.corrections.reduce((sum, c) => sum + c.contacts, 0);
  const parts = [
    reportHeading(4, "correctionsHeading", "corrections"),
    node("p", fill("correctedOf", { n: fixed, of: data.classified, share: shareOf(data.classified ? fixed / data.classified : null) })),
  ];
  if (!data.corrections.length) return [...parts, node("p", t("noCorrections"))];
  const rows = data.corrections.map((c) => ({ cells: [caseTypeName(c.from), caseTypeName(c.to), String(c.contacts)] }));
  return [...parts, reportTable("improvement-corrections", ["sortedAs", "correctedTo", "contacts"], rows, [2])];
}

// The comments by case type and wrap-up code, the groups in the order of their newest comment.
function improvementComments(data, searched) {
  const parts = [reportHeading(4, "commentsHeading", "comments")];
  const n = data.comments.length;
  parts.push(node("p", searched ? fill("commentsFound", { n, q: searched }) : fill("commentsCount", { n }), { className: "commentsCount" }));
  if (data.more_comments) parts.push(node("p", fill("commentsMore", { n }), { className: "commentsMore" }));
  if (!n) return [...parts, node("p", t("noComments"))];
  const groups = new Map();
  for (const c of data.comments) {
    const key = JSON.stringify([c.case_type, c.wrap_up]);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(c);
  }
  for (const comments of groups.values()) {
    const { case_type: caseType, wrap_up: wrapUp } = comments[0];
    const group = node("div", "", { className: "commentGroup" });
    const list = node("ul", "");
    for (const c of comments) {
      const item = node("li", "");
      const about = fill("commentAbout", { day: longDate(c.day), queue: queueName(c), channel: c.channel, score: c.score });
      item.append(node("span", about, { className: "commentAbout" }), node("q", c.text));
      list.append(item);
    }
    group.append(node("h5", `${caseTypeName(caseType)} · ${wrapUpName(wrapUp)}`), list);
    parts.push(group);
  }
  return parts;
}

async function showAdmin() {
  const [{ staff }, { sessions }, { entries }] = await Promise.all([
    api("GET", "/api/staff"), api("GET", "/api/sessions"), api("GET", "/api/audit?limit=50"),
  ]);
  const body = $("staff");
  body.replaceChildren();
  for (const p of staff) {
    const row = body.insertRow();
    cell(row, p.login);
    cell(row, p.name);
    const roleCell = cell(row, "");
    const select = document.createElement("select");
    select.setAttribute("aria-label", `${t("role")}: ${p.login}`);
    for (const r of ROLES) select.append(new Option(r, r, false, r === p.role));
    select.addEventListener("change", () => api("PATCH", `/api/staff/${p.login}`, { role: select.value }).then(showAdmin, showError));
    roleCell.append(select);
    cell(row, p.disabled ? t("disable") : p.token_expires_at ? clock(p.token_expires_at) : t("none"));
    const actions = cell(row, "");
    if (p.disabled) {
      actions.append(button(`${t("enable")} ${p.login}`, () => issue(p.login, "POST", "enable")));
    } else {
      actions.append(
        button(`${t("newToken")} ${p.login}`, () => issue(p.login, "POST", "token")),
        button(`${t("revoke")} ${p.login}`, () => api("DELETE", `/api/staff/${p.login}/token`).then(showAdmin)),
        button(`${t("disable")} ${p.login}`, () => api("POST", `/api/staff/${p.login}/disable`).then(showAdmin)),
      );
    }
  }
  const sessionRows = $("sessions");
  sessionRows.replaceChildren();
  for (const s of sessions) {
    const row = sessionRows.insertRow();
    cell(row, s.login);
    cell(row, s.via);
    cell(row, clock(s.last_seen_at));
    cell(row, "").append(button(`${t("end")} ${s.login}`, () => api("DELETE", `/api/sessions/${s.id}`).then(showAdmin)));
  }
  const audit = $("audit");
  audit.replaceChildren();
  for (const e of entries) {
    const row = audit.insertRow();
    for (const v of [clock(e.at), e.actor, e.action, e.target ?? e.reference ?? ""]) cell(row, v);
  }
}

async function issue(login, method, what) {
  const person = await api(method, `/api/staff/${login}/${what}`);
  $("issued").textContent = t("issuedToken").replace("{login}", login).replace("{token}", person.token);
  await showAdmin();
}

async function addStaff(event) {
  event.preventDefault();
  const person = await api("POST", "/api/staff", { login: $("newLogin").value.trim().toLowerCase(), name: $("newName").value.trim(), role: $("newRole").value });
  $("issued").textContent = t("issuedToken").replace("{login}", person.login).replace("{token}", person.token);
  $("addForm").reset();
  await showAdmin();
}

async function signIn(event) {
  event.preventDefault();
  try {
    await staffSession.signIn($("login").value, $("token").value);
  } catch (error) {
    $("error").textContent = error.status === 401 ? t("badToken") : error.status === 429 ? t("locked") : error.message;
    return;
  }
  $("token").value = "";
  await open();
}

async function open() {
  const me = staffSession.current;
  if (!["supervisor", "admin"].includes(me.role)) {
    $("error").textContent = t("notSupervisor");
    return;
  }
  reference = await api("GET", "/api/reference");
  $("signin").hidden = true;
  $("console").hidden = false;
  $("signout").hidden = false;
  $("error").textContent = "";
  $("who").textContent = `${me.name} (${me.role})`;
  for (const q of reference.queues) $("csatQueue").append(new Option(q[lang], q.code));
  profileInputs();
  await showClosures();
  live?.close();
  live = followLive("/api/console/events", "console", render, $("connection"));
  if (me.role === "admin") {
    $("admin").hidden = false;
    $("newRole").replaceChildren(...ROLES.map((r) => new Option(r, r)));
    await showAdmin();
  }
}

async function signedOut(message) {
  live?.close();
  view = null;
  if (whatif) for (const url of [whatif.csvUrl, whatif.pngUrl]) if (url) URL.revokeObjectURL(url);
  whatif = null;
  $("whatifResult").replaceChildren();
  $("whatifStatus").textContent = "";
  improvement = null;
  $("improvementResult").replaceChildren();
  improvementSays(null);
  $("console").hidden = true;
  $("signout").hidden = true;
  $("error").textContent = message;
  await staffSession.showForm();
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", (event) => {
    lang = event.target.value;
    localStorage.setItem("contactd.lang", lang);
    translate();
    if (reference.case_types.length) profileInputs();
  });
  $("signin").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => staffSession.signOut().finally(() => signedOut("")));
  $("timelineForm").addEventListener("submit", (e) => showTimeline(e).catch(showError));
  $("searchForm").addEventListener("submit", (e) => search(e).catch(showError));
  $("csatForm").addEventListener("submit", (e) => showCsat(e).catch(showError));
  $("profileForm").addEventListener("submit", (e) => saveProfile(e).catch(showError));
  $("profileLoad").addEventListener("click", () => loadProfile().catch(showError));
  $("addForm").addEventListener("submit", (e) => addStaff(e).catch(showError));
  $("closureForm").addEventListener("submit", (e) => addClosure(e).catch(showError));
  $("whatifForm").addEventListener("submit", (e) => playWhatif(e).catch(showError));
  for (const choice of document.querySelectorAll("input[name=whatifTraffic]")) choice.addEventListener("change", showHistoryDays);
  $("improvementForm").addEventListener("submit", (e) => showImprovement(e).catch(showError));
  for (const choice of document.querySelectorAll("input[name=improvementPeriod]")) choice.addEventListener("change", showImprovementDays);
  staffSession.onEnded = () => signedOut(t("ended"));
  translate();
  setInterval(tick, 1000);  // "since" counts on
  staffSession.check().then((me) => (me ? open() : signedOut("")));
});
