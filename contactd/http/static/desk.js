// The agent desk: sign in (staffSession, session.js), set your state, take offers live, finish them.
// Live updates come from /api/desk/events (server-sent events read through fetch, since
// EventSource cannot send the Authorization header).
"use strict";

const TEXTS = {
  da: {
    title: "Skrivebord", language: "Sprog", signin: "Log ind", token: "Din adgangsnøgle", login: "Brugernavn",
    signOut: "Log ud", signOutEverywhere: "Log ud overalt", ended: "Du er logget ud. Log ind igen.",
    locked: "For mange forsøg. Vent og prøv igen.",
    signinButton: "Log ind", state: "Status", setState: "Skift status", available: "Klar",
    away: "Væk", offline: "Offline", wrap_up: "Efterbehandling", contacts: "Henvendelser",
    empty: "Ingen henvendelser lige nu.", queue: "Kø", accept: "Tag imod", decline: "Afvis",
    outcome: "Resultat", correctCaseType: "Rigtig sagstype", finish: "Afslut",
    standardAnswer: "Standardsvar", chooseStandard: "(vælg et standardsvar)",
    colleague: "eller til kollega (brugernavn)", attach: "Vedhæft blanketter",
    history: "Klientens tidligere henvendelser", notes: "Noter", newNote: "Ny note", addNote: "Gem note",
    noHistory: "Ingen tidligere henvendelser.", purged: "slettet efter opbevaringstiden",
    wrapUp: "Henvendelsen handlede om", noWrapUp: "(ikke valgt)", newOffer: "Nyt tilbud",
    offerAnnounced: "Nyt tilbud: {what}. Tryk Enter for at tage imod.",
    alertSound: "Lyd ved nyt tilbud", alertNotify: "Vis skrivebordsbesked ved nyt tilbud",
    alertNotifyOn: "Skrivebordsbeskeder er slået til",
    transferTo: "Overfør til", transfer: "Overfør", unchanged: "(uændret)",
    consult: "Tal med kollegaen først", consultComplete: "Overdrag opkaldet", consultCancel: "Tilbage til borgeren",
    consultRinging: "Borgeren venter i røret. Vi ringer til {agent} …",
    consultTalking: "Borgeren venter i røret. Du taler med {agent}.",
    byCaseType: "(sagstypens kø)", guesses: "Modellens bud", sortedBy: "sorteret af modellen",
    expiresIn: "udløber om {s} s", badToken: "Brugernavn eller adgangsnøgle passer ikke.",
    call: "Opkald", callback: "Tilbageringning", email: "E-mail", ticket: "Kønummer",
    conversation: "Korrespondance", answer: "Dit svar", sendAnswer: "Send svar",
    answerSent: "Svaret er sendt.", showHtml: "Vis formateret", in: "Fra borgeren",
    out: "Fra os", mail: "E-mail", acknowledgement: "Kvittering", survey: "Tilfredshedsspørgsmål", bounce: "Kunne ikke leveres",
    replyTo: "Svar-til: {a} – ikke afsenderens adresse. Svaret går til afsenderen, medmindre du vælger andet.",
    senderCheck: "Afsendertjek", pass: "bestået", fail: "fejlede", none: "intet resultat",
    answerToReplyTo: "Send svaret til Svar-til-adressen {a} i stedet for afsenderen",
    counter: "Skranke", saveCounter: "Gem skranke", counterSaved: "Skranke {c} er gemt.",
    counterCleared: "Du sidder ikke ved en skranke.",
    counterHint: "I servicecentret: den skranke, du sidder ved. Den vises på skærmen i venteværelset, når du kalder et nummer op. Tom: ingen skranke.",
    callUp: "Kald op", recall: "Kald igen", noShow: "Udeblevet", calledTimes: "Kaldt op {n} gange.",
    errors: {
      no_counter: "Skriv hvilken skranke du sidder ved, før du kalder et nummer op.",
      too_few_calls: "Kald nummeret op flere gange, før du melder den besøgende udeblevet.",
      no_agent_profile: "Du har ingen agentprofil. Spørg en supervisor.",
      no_reply_to: "Den seneste e-mail har ingen anden Svar-til-adresse.",
      not_answered: "Kollegaen har ikke taget telefonen endnu: vent, eller gå tilbage til borgeren.",
      consulting: "Du taler allerede med en kollega om opkaldet.",
      not_talking: "Du taler ikke med borgeren endnu.",
    },
  },
  en: {
    title: "Desk", language: "Language", signin: "Sign in", token: "Your access token", login: "User name",
    signOut: "Sign out", signOutEverywhere: "Sign out everywhere", ended: "You are signed out. Sign in again.",
    locked: "Too many tries. Wait and try again.",
    signinButton: "Sign in", state: "State", setState: "Change state", available: "Available",
    away: "Away", offline: "Offline", wrap_up: "Wrap-up", contacts: "Contacts",
    empty: "No contacts right now.", queue: "Queue", accept: "Accept", decline: "Decline",
    outcome: "Outcome", correctCaseType: "Correct case type", finish: "Finish",
    standardAnswer: "Standard answer", chooseStandard: "(choose a standard answer)",
    colleague: "or to a colleague (user name)", attach: "Attach forms",
    history: "The client's earlier contacts", notes: "Notes", newNote: "New note", addNote: "Save note",
    noHistory: "No earlier contacts.", purged: "deleted after the retention period",
    wrapUp: "The contact was about", noWrapUp: "(not chosen)", newOffer: "New offer",
    offerAnnounced: "New offer: {what}. Press Enter to accept.",
    alertSound: "Sound on a new offer", alertNotify: "Show a desktop notification on a new offer",
    alertNotifyOn: "Desktop notifications are on",
    transferTo: "Transfer to", transfer: "Transfer", unchanged: "(unchanged)",
    consult: "Talk to the colleague first", consultComplete: "Hand the call over", consultCancel: "Back to the caller",
    consultRinging: "The caller is on hold. Calling {agent} …",
    consultTalking: "The caller is on hold. You are talking to {agent}.",
    byCaseType: "(the case type's queue)", guesses: "The model's guesses", sortedBy: "sorted by the model",
    expiresIn: "expires in {s} s", badToken: "The user name or token is wrong.",
    call: "Call", callback: "Callback", email: "E-mail", ticket: "Ticket",
    conversation: "Conversation", answer: "Your answer", sendAnswer: "Send answer",
    answerSent: "The answer is on its way.", showHtml: "Show formatted", in: "From the client",
    out: "From us", mail: "E-mail", acknowledgement: "Acknowledgement", survey: "Satisfaction question", bounce: "Not delivered",
    replyTo: "Reply-To: {a} – not the sender's address. The answer goes to the sender unless you choose otherwise.",
    senderCheck: "Sender check", pass: "passed", fail: "failed", none: "no result",
    answerToReplyTo: "Send the answer to the Reply-To address {a} instead of the sender",
    counter: "Counter", saveCounter: "Save counter", counterSaved: "Counter {c} is saved.",
    counterCleared: "You are not at a counter.",
    counterHint: "At the service centre: the counter you sit at. The waiting room's screen shows it when you call a number. Empty: no counter.",
    callUp: "Call", recall: "Call again", noShow: "No-show", calledTimes: "Called {n} times.",
    errors: {
      no_counter: "Say which counter you sit at before you call a number.",
      too_few_calls: "Call the number a few more times before you mark the visitor a no-show.",
      no_agent_profile: "You have no agent profile. Ask a supervisor.",
      no_reply_to: "The latest e-mail has no other Reply-To address.",
      not_answered: "The colleague has not answered yet: wait, or go back to the caller.",
      consulting: "You are talking to a colleague about this call already.",
      not_talking: "You are not talking to the caller yet.",
    },
  },
};

// Staff pages speak Danish and English; a client language chosen on a public page in the same
// browser (Arabic at the kiosk, say) is not one of them.
const storedLang = localStorage.getItem("contactd.lang");
let lang = storedLang in TEXTS ? storedLang : (navigator.language.startsWith("da") ? "da" : "en");
let reference = { case_types: [], queues: [] };
let desk = null;
// The daemon's clock, not the browser's: offers count down by the time each desk was sent.
let daemonOffset = 0;
const daemonNow = () => Date.now() + daemonOffset;
let stream = null;
let counterShown;  // the counter last shown from the server: a live update never overwrites typing

const $ = (id) => document.getElementById(id);
const t = (key) => TEXTS[lang][key] ?? key;

function translate() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  if (desk) render();
}

function api(method, path, body) {
  return staffSession.api(method, path, body);
}

function percent(p) {
  return `${Math.round(p * 100)} %`;
}

function caseTypeName(code) {
  const found = reference.case_types.find((c) => c.code === code);
  return found ? found[lang] : code;
}

function queueName(code) {
  const found = reference.queues.find((q) => q.code === code);
  return found ? found[lang] : code;
}

function render() {
  daemonOffset = Date.parse(desk.at) - Date.now();
  $("who").textContent = desk.name;
  $("state").textContent = t(desk.state);
  for (const b of document.querySelectorAll("[data-state]")) b.setAttribute("aria-pressed", String(b.dataset.state === desk.state));
  if (desk.counter !== counterShown) {
    counterShown = desk.counter;
    $("counter").value = desk.counter ?? "";
  }
  const list = $("contacts");
  $("empty").hidden = desk.contacts.length > 0;
  // Keep the items that did not change, so a live update never wipes what the agent is
  // typing or moves their focus; replace only what changed.
  const kept = new Map([...list.children].map((item) => [item.dataset.key, item]));
  const items = desk.contacts.map((c) => {
    const key = `${c.reference}:${c.state}:${lang}`;
    const old = kept.get(key);
    const item = old || contactItem(c);
    item.dataset.key = key;
    // A reply that arrived for an open e-mail: reload its conversation, keep the draft.
    if (old && c.channel === "email" && c.state === "active" && c.message_count !== Number(old.dataset.messages)) loadThread(item, c);
    if (old && c.channel === "call") showConsulting(item, c);
    kept.delete(key);
    return item;
  });
  const fresh = items.filter((item) => item.parentElement !== list);
  const same = items.length === list.children.length && items.every((item, i) => list.children[i] === item);
  if (!same) list.replaceChildren(...items);  // (re-inserting a focused item would blur it)
  const offer = fresh.map((item) => item.querySelector(".accept")).find((b) => b && !b.closest(".offered").hidden);
  if (offer) {
    offer.focus();  // a new offer: Enter accepts it
    alertOffer(offer.closest(".contact"));
  }
  const offers = desk.contacts.filter((c) => c.state === "offered").length;
  document.title = offers ? `(${offers}) ${t("newOffer")} – ${t("title")}` : `contactd – ${t("title")}`;
}

// A new offer is said aloud to screen readers, and (as the agent chose) sounds and shows a
// desktop notification, so an agent in another window does not miss it.
function alertOffer(item) {
  const what = `${item.querySelector(".channel").textContent}, ${item.querySelector(".caseType").textContent}`;
  $("offerAnnounce").textContent = t("offerAnnounced").replace("{what}", what);
  if (localStorage.getItem("contactd.alertSound") !== "off") beep();
  if (window.Notification?.permission === "granted" && document.hidden) {
    new Notification(t("newOffer"), { body: what, tag: "contactd-offer" });
  }
}

function beep() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.2;
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
    tone.onended = () => audio.close();
  } catch { /* no sound on this machine: the title and the announcement remain */ }
}

async function loadClient(item, c) {
  try {
    const [history, notes] = await Promise.all([
      api("GET", `/api/desk/contacts/${c.reference}/history`),
      api("GET", `/api/desk/contacts/${c.reference}/notes`),
    ]);
    item.querySelector(".historyCount").textContent = String(history.contacts.length);
    const list = item.querySelector(".history");
    list.replaceChildren(...history.contacts.map((h) => {
      const li = document.createElement("li");
      const when = new Date(h.created_at).toLocaleDateString(lang === "da" ? "da-DK" : "en-GB");
      const wrap = h.wrap_up ? ` · ${wrapUpName(h.wrap_up)}` : "";
      li.textContent = h.purged
        ? `${when} · ${t(h.channel)} · ${h.reference} · ${t("purged")}`
        : `${when} · ${t(h.channel)} · ${caseTypeName(h.case_type)} · ${h.outcome ?? h.state}${wrap} · ${h.handled_by ?? ""} · ${h.reference}`;
      for (const n of h.notes) if (n.text) li.append(Object.assign(document.createElement("blockquote"), { textContent: `${n.author}: ${n.text}` }));
      return li;
    }));
    if (!history.contacts.length) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: t("noHistory") }));
    item.querySelector(".notes").replaceChildren(...notes.notes.map((n) => Object.assign(document.createElement("li"), { textContent: `${n.author}: ${n.text}` })));
  } catch (error) {
    item.querySelector(".historyCount").textContent = "–";  // offered no longer: nothing shown
  }
}

// The agency's standard answers for this case type and language, filled in: one is put in
// the answer box to edit (replacing what is there only if the box is empty or unchanged).
async function loadStandardAnswers(item, c) {
  const { answers } = await api("GET", `/api/desk/contacts/${c.reference}/answers`).catch(() => ({ answers: [] }));
  const choice = item.querySelector(".standardAnswer");
  item.querySelector(".standardChoice").hidden = !answers.length;
  choice.replaceChildren(new Option(t("chooseStandard"), ""), ...answers.map((a) => new Option(a.title, a.name)));
  let inserted = "";
  choice.addEventListener("change", () => {
    const picked = answers.find((a) => a.name === choice.value);
    const box = item.querySelector(".answerText");
    if (picked && (!box.value || box.value === inserted)) {
      box.value = inserted = picked.text;
      box.focus();
    }
  });
}

// The agency's forms and checklists (email.forms_dir), to attach to an answer by ticking them.
let formsAvailable = null;
async function showForms(item) {
  formsAvailable ??= api("GET", "/api/forms").then((r) => r.forms, () => []);
  const forms = await formsAvailable;
  const box = item.querySelector(".formsChoice");
  box.hidden = !forms.length;
  for (const f of forms) {
    const label = document.createElement("label");
    const tick = Object.assign(document.createElement("input"), { type: "checkbox", value: f.filename });
    label.append(tick, ` ${f.filename} (${Math.ceil(f.size / 1024)} kB)`);
    box.append(label);
  }
}

function wrapUpName(code) {
  return reference.wrap_up_codes?.[code]?.[lang] ?? code;
}

function contactItem(c) {
  const item = $("contactTemplate").content.firstElementChild.cloneNode(true);
  item.dataset.reference = c.reference;
  item.dataset.state = c.state;
  item.dataset.channel = c.channel;
  // Accepting a ticket calls the visitor to this counter.
  if (c.channel === "ticket") item.querySelector(".accept").dataset.t = "callUp";
  for (const el of item.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  // A ticket is known by its number (A012) at the counter; the reference stays for the record.
  item.querySelector(".reference").textContent = c.ticket_number ? `${c.ticket_number} (${c.reference})` : c.reference;
  item.querySelector(".channel").textContent = t(c.channel);
  item.querySelector(".caseType").textContent = caseTypeName(c.case_type);
  if (c.case_type_source === "classifier" && c.guesses.length) {
    item.querySelector(".sortedBy").textContent = `(${t("sortedBy")}, ${percent(c.confidence)})`;
  }
  item.querySelector(".queue").textContent = queueName(c.queue);
  item.querySelector(".address").textContent = c.client_address || "";
  item.querySelector(".subject").textContent = c.subject || "";
  item.querySelector(".text").textContent = c.text || "";
  if (c.state === "offered" && c.offer_expires_at) {
    item.querySelector(".expires").dataset.at = c.offer_expires_at;
    tick(item);
  }
  item.querySelector(".offered").hidden = c.state !== "offered";
  item.querySelector(".ticketActions").hidden = !(c.channel === "ticket" && c.state === "active");
  if (c.channel === "email" && c.state === "active") {
    item.querySelector(".mail").hidden = false;
    loadThread(item, c);
    const answerForm = item.querySelector(".answerForm");
    answerForm.addEventListener("submit", (event) => sendAnswer(event, item, c));
    loadStandardAnswers(item, c);
    showForms(item);
  }
  const form = item.querySelector(".active");
  form.hidden = c.state !== "active";
  loadClient(item, c);
  item.querySelector(".client").open = true;  // shown on the offer; folded away with a click
  const noteForm = item.querySelector(".noteForm");
  noteForm.hidden = c.state !== "active";
  noteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = noteForm.querySelector(".noteText");
    api("POST", `/api/desk/contacts/${c.reference}/notes`, { text: text.value })
      .then(() => { text.value = ""; clearError(); return loadClient(item, c); }, showError);
  });
  const queue = reference.queues.find((q) => q.code === c.queue);
  const wrapUp = form.querySelector(".wrapUp");
  wrapUp.append(new Option(t("noWrapUp"), ""));
  for (const code of queue?.wrap_up ?? []) wrapUp.append(new Option(wrapUpName(code), code));
  wrapUp.required = Boolean(queue?.wrap_up_required);
  form.querySelector(".wrapUpChoice").hidden = !queue?.wrap_up.length;
  const correct = form.querySelector(".correctCaseType");
  correct.append(new Option(t("unchanged"), ""));
  for (const ct of reference.case_types) correct.append(new Option(ct[lang], ct.code));
  const transferTo = form.querySelector(".transferQueue");
  transferTo.append(new Option(t("byCaseType"), ""));
  for (const q of reference.queues) if (q.code !== c.queue) transferTo.append(new Option(q[lang], q.code));
  // In triage the model's top guesses are one click from the correction list.
  const guesses = item.querySelector(".guesses");
  guesses.hidden = c.case_type_source !== "classifier" || !c.guesses.length;
  for (const g of c.guesses) {
    const pick = document.createElement("button");
    pick.type = "button";
    pick.className = "guess";
    pick.dataset.caseType = g.case_type;
    pick.textContent = `${caseTypeName(g.case_type)} ${percent(g.confidence)}`;
    pick.addEventListener("click", () => { correct.value = g.case_type; correct.focus(); });
    guesses.querySelector(".guessList").append(pick);
  }

  // The event stream shows the result: rendering the reply here could overwrite a newer
  // snapshot that the stream delivered first (an offer would vanish from the screen).
  const act = (action, body) => api("POST", `/api/desk/contacts/${c.reference}/${action}`, body).then(clearError, showError);
  item.querySelector(".accept").addEventListener("click", () => act("accept"));
  item.querySelector(".decline").addEventListener("click", () => act("decline"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act("finish", { outcome: form.querySelector(".outcome").value, case_type: correct.value || null, wrap_up: wrapUp.value || null });
  });
  // A live call may go straight to a colleague's phone; the caller stays on the line.
  const colleague = item.querySelector(".colleague");
  item.querySelector(".colleagueChoice").hidden = c.channel !== "call";
  item.querySelector(".transfer").addEventListener("click", () => act("transfer", colleague.value.trim()
    ? { agent: colleague.value.trim().toLowerCase() }
    : { queue: transferTo.value || null, case_type: correct.value || null }));
  // Or a word with the colleague first, the caller on hold; then hand over or go back.
  item.querySelector(".consult").addEventListener("click", () => {
    if (!colleague.value.trim()) { colleague.focus(); return; }
    act("consult", { agent: colleague.value.trim().toLowerCase() });
  });
  item.querySelector(".consultComplete").addEventListener("click", () => act("consult/complete"));
  item.querySelector(".consultCancel").addEventListener("click", () => act("consult/cancel"));
  showConsulting(item, c);
  item.querySelector(".recall").addEventListener("click", () => api("POST", `/api/desk/contacts/${c.reference}/recall`).then((r) => {
    clearError();
    item.querySelector(".calls").textContent = t("calledTimes").replace("{n}", r.calls);
  }, showError));
  item.querySelector(".noShow").addEventListener("click", () => act("no-show"));
  return item;
}

// A live call's consultation as it stands: the colleague ringing, then talking; only then
// can the call be handed over. Updated in place, so the fields the agent fills stay.
function showConsulting(item, c) {
  item.querySelector(".consult").hidden = c.channel !== "call" || c.state !== "active" || Boolean(c.consulting);
  const consulting = item.querySelector(".consulting");
  consulting.hidden = !c.consulting;
  if (!c.consulting) return;
  const said = t(c.consulting.answered ? "consultTalking" : "consultRinging");
  consulting.querySelector(".consultState").textContent = said.replace("{agent}", c.consulting.agent);
  consulting.querySelector(".consultComplete").disabled = !c.consulting.answered;
}

async function loadThread(item, c) {
  // The e-mails of the contact; HTML only cleaned by the server and shown in a sandboxed
  // frame that runs no script and loads nothing.
  item.dataset.messages = c.message_count;
  let data;
  try {
    data = await api("GET", `/api/desk/contacts/${c.reference}/messages`);
  } catch (error) {
    showError(error);
    return;
  }
  const list = item.querySelector(".thread");
  list.replaceChildren(...data.messages.map(messageItem));
  // The answer goes to the contact's address (From); to the latest mail's Reply-To only if
  // the caseworker ticks the box, which names that address.
  const last = data.messages.filter((m) => m.direction === "in" && m.kind === "mail").pop();
  const choice = item.querySelector(".replyToChoice");
  choice.hidden = !last?.reply_to;
  choice.querySelector("input").checked = false;
  choice.querySelector("span").textContent = last?.reply_to ? t("answerToReplyTo").replace("{a}", last.reply_to) : "";
}

function messageItem(m) {
  const li = $("messageTemplate").content.firstElementChild.cloneNode(true);
  for (const el of li.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  li.dataset.direction = m.direction;
  li.dataset.kind = m.kind;
  li.querySelector(".direction").textContent = ["mail", "answer"].includes(m.kind) ? t(m.direction) : t(m.kind);
  const at = li.querySelector(".at");
  at.dateTime = m.at;
  at.textContent = new Date(m.at).toLocaleString(lang === "da" ? "da-DK" : "en-GB");
  li.querySelector(".messageSubject").textContent = m.subject || "";
  li.querySelector(".messageText").textContent = m.text || "";
  if (m.reply_to) {
    const replyTo = li.querySelector(".replyTo");
    replyTo.hidden = false;
    replyTo.textContent = t("replyTo").replace("{a}", m.reply_to);
  }
  if (m.authentication) {
    // The receiving mail server's verdict on the sender: DMARC, else SPF and DKIM.
    const check = li.querySelector(".authentication");
    check.hidden = false;
    check.dataset.result = Object.values(m.authentication).includes("fail") ? "fail" : "";
    const results = Object.entries(m.authentication).map(([method, result]) => `${method.toUpperCase()} ${t(result)}`);
    check.textContent = `${t("senderCheck")}: ${results.join(", ")}`;
  }
  if (m.html) {
    const show = li.querySelector(".showHtml");
    const frame = li.querySelector(".html");
    show.hidden = false;
    show.addEventListener("click", () => {
      frame.srcdoc = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">${m.html}`;
      frame.hidden = !frame.hidden;
    });
  }
  for (const a of m.attachments) {
    const entry = document.createElement("li");
    const get = document.createElement("button");
    get.type = "button";
    get.className = "attachment";
    get.textContent = `${a.filename} (${Math.ceil(a.size / 1024)} KB)`;
    get.addEventListener("click", () => download(a.url, a.filename).catch(showError));
    entry.append(get);
    li.querySelector(".attachments").append(entry);
  }
  return li;
}

async function download(url, filename) {
  // Through fetch and a temporary object URL: the file is saved, never shown.
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

async function sendAnswer(event, item, c) {
  event.preventDefault();
  const button = item.querySelector(".sendAnswer");
  const text = item.querySelector(".answerText");
  button.disabled = true;  // one click, one answer
  try {
    const to = item.querySelector(".answerToReplyTo").checked ? "reply_to" : "from";
    const picked = [...item.querySelectorAll(".formsChoice input:checked")];
    const attachments = picked.map((box) => box.value);
    await api("POST", `/api/desk/contacts/${c.reference}/answer`, { text: text.value, to, attachments });
    text.value = "";
    for (const box of picked) box.checked = false;
    item.querySelector(".answerStatus").textContent = t("answerSent");
    clearError();
    await loadThread(item, c);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

function tick(root = document) {
  // The countdown of each open offer, once a second.
  for (const el of root.querySelectorAll(".expires[data-at]")) {
    const seconds = Math.max(0, Math.round((Date.parse(el.dataset.at) - daemonNow()) / 1000));
    el.textContent = " · " + t("expiresIn").replace("{s}", seconds);
  }
}

function clearError() {
  $("error").textContent = "";
}

function showError(error) {
  $("error").textContent = TEXTS[lang].errors[error.code] || error.message;
  if (error.code === "no_counter") $("counter").focus();
}

async function saveCounter(event) {
  event.preventDefault();
  const counter = $("counter").value.trim() || null;
  try {
    const saved = await api("POST", "/api/desk/counter", { counter });
    desk.counter = counterShown = saved.counter;
    $("counter").value = saved.counter ?? "";
    $("counterStatus").textContent = saved.counter ? t("counterSaved").replace("{c}", saved.counter) : t("counterCleared");
    clearError();
  } catch (error) {
    showError(error);
  }
}

async function refresh() {
  desk = await api("GET", "/api/desk");
  $("error").textContent = "";
  render();
}

async function follow() {
  // Read the event stream; reconnect after a pause if it drops.
  while (staffSession.current) {
    try {
      stream = new AbortController();
      const response = await fetch("/api/desk/events", { credentials: "same-origin", signal: stream.signal });
      if (response.status === 401) { await staffSession.check(); if (!staffSession.current) return ended(); }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = message.split("\n").find((line) => line.startsWith("data: "));
          if (data) { desk = JSON.parse(data.slice(6)); render(); }
        }
      }
    } catch (error) {
      if (error.name === "AbortError") return;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function signIn(event) {
  event.preventDefault();
  try {
    await staffSession.signIn($("login").value, $("token").value);
  } catch (error) {
    $("signinError").textContent = error.status === 401 ? t("badToken")
      : error.status === 429 ? t("locked") : error.message;
    return;
  }
  $("token").value = "";  // the token is not kept: the session cookie signs in from now on
  await open();
}

async function open() {
  try {
    reference = await api("GET", "/api/reference");
    await refresh();
  } catch (error) {
    $("signinError").textContent = error.message;
    return showSignIn();
  }
  $("signinError").textContent = "";
  $("signin").hidden = true;
  $("desk").hidden = false;
  follow();
}

async function showSignIn() {
  stream?.abort();
  $("desk").hidden = true;
  await staffSession.showForm();
}

function ended() {
  $("signinError").textContent = t("ended");
  showSignIn();
}

async function signOut(everywhere) {
  try { await staffSession.signOut(everywhere); } catch { /* ended already */ }
  desk = null;
  showSignIn();
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", (event) => {
    lang = event.target.value;
    localStorage.setItem("contactd.lang", lang);
    translate();
  });
  $("signin").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut(false));
  $("signoutEverywhere").addEventListener("click", () => signOut(true));
  staffSession.onEnded = ended;
  $("alertSound").checked = localStorage.getItem("contactd.alertSound") !== "off";
  $("alertSound").addEventListener("change", (event) => localStorage.setItem("contactd.alertSound", event.target.checked ? "on" : "off"));
  $("alertNotify").hidden = !window.Notification || Notification.permission === "granted";
  $("alertNotify").addEventListener("click", () => Notification.requestPermission().then((answer) => {
    $("alertNotify").hidden = answer === "granted";
    if (answer === "granted") $("offerAnnounce").textContent = t("alertNotifyOn");
  }));
  $("counterForm").addEventListener("submit", saveCounter);
  for (const b of document.querySelectorAll("[data-state]")) {
    b.addEventListener("click", () => api("POST", "/api/desk/state", { state: b.dataset.state }).then(clearError, showError));
  }
  translate();
  setInterval(tick, 1000);
  staffSession.check().then((signedIn) => (signedIn ? open() : showSignIn()));
});
