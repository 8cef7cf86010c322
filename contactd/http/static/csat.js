// The one-question satisfaction page behind a survey link (/s/<token>): the survey's state
// and language from GET /api/surveys/<token>, the answer by POST to the same URL. In the
// contact's language unless the client switches; the page's status already said whether
// the link can be answered, the API says why not.
"use strict";

const TEXTS = {
  da: {
    agency: "Udlændingestyrelsen", language: "Sprog", title: "Hvor tilfreds var du?", loading: "Henter…",
    question: "Hvor tilfreds er du alt i alt med den service, du fik?",
    scoreHint: "Vælg et svar fra 1 (meget utilfreds) til 5 (meget tilfreds).",
    score1: "1 – Meget utilfreds", score2: "2 – Utilfreds", score3: "3 – Hverken tilfreds eller utilfreds",
    score4: "4 – Tilfreds", score5: "5 – Meget tilfreds",
    comment: "Vil du fortælle os mere? (frivilligt)",
    commentHint: "Højst 1000 tegn. Skriv ikke dit CPR-nummer eller andre personlige oplysninger.",
    submit: "Send svar", sending: "Sender…", noScore: "Vælg et svar fra 1 til 5.",
    thanksTitle: "Tak for dit svar", thanksText: "Vi bruger svarene til at gøre vores service bedre.",
    answeredTitle: "Tak, du har allerede svaret", answeredText: "Der kan kun svares én gang på hvert link.",
    expiredTitle: "Linket er udløbet", expiredText: "Undersøgelsen kan ikke længere besvares. Tak for din interesse.",
    notFoundTitle: "Vi kan ikke finde undersøgelsen", notFoundText: "Tjek at du har hele linket fra sms'en eller e-mailen.",
    too_many_requests: "Der er sendt for mange forespørgsler herfra. Prøv igen om lidt.",
    invalid_body: "Svaret kunne ikke bruges. Vælg et svar fra 1 til 5, og skriv højst 1000 tegn.",
    failed: "Det lykkedes ikke. Prøv igen.",
  },
  en: {
    agency: "The Danish Immigration Service", language: "Language", title: "How satisfied were you?", loading: "Loading…",
    question: "How satisfied are you, in general, with the service?",
    scoreHint: "Choose an answer from 1 (very dissatisfied) to 5 (very satisfied).",
    score1: "1 – Very dissatisfied", score2: "2 – Dissatisfied", score3: "3 – Neither satisfied nor dissatisfied",
    score4: "4 – Satisfied", score5: "5 – Very satisfied",
    comment: "Would you like to tell us more? (optional)",
    commentHint: "At most 1000 characters. Do not write your CPR number or other personal details.",
    submit: "Send answer", sending: "Sending…", noScore: "Choose an answer from 1 to 5.",
    thanksTitle: "Thank you for your answer", thanksText: "We use the answers to improve our service.",
    answeredTitle: "Thank you, you have already answered", answeredText: "Each link can be answered once.",
    expiredTitle: "The link has expired", expiredText: "The survey can no longer be answered. Thank you for your interest.",
    notFoundTitle: "We cannot find the survey", notFoundText: "Check that you have the whole link from the text message or e-mail.",
    too_many_requests: "Too many requests have been sent from here. Please try again in a moment.",
    invalid_body: "The answer could not be used. Choose an answer from 1 to 5 and write at most 1000 characters.",
    failed: "That did not work. Please try again.",
  },
};
// The result shown instead of the form, by the API's answer.
const RESULTS = {
  survey_answered: ["answeredTitle", "answeredText"],
  survey_expired: ["expiredTitle", "expiredText"],
  survey_not_found: ["notFoundTitle", "notFoundText"],
  answered_now: ["thanksTitle", "thanksText"],
};

const asked = new URLSearchParams(location.search).get("lang");
let lang = asked === "da" || asked === "en" ? asked : "da";
let result = null;  // a key of RESULTS once the survey cannot be (or has just been) answered
let errorKey = null;  // the error shown, kept so a switch of language translates it
const token = location.pathname.split("/").pop();
const api = `/api/surveys/${encodeURIComponent(token)}`;
const $ = (id) => document.getElementById(id);
const t = (key) => TEXTS[lang][key] ?? TEXTS[lang].failed;

function render() {
  document.documentElement.lang = lang;
  document.title = `${t("title")} · ${t("agency")}`;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("error").textContent = errorKey ? t(errorKey) : "";
  if (result) {
    const [title, text] = RESULTS[result];
    $("resultTitle").textContent = t(title);
    $("resultText").textContent = t(text);
  }
}

function show(key, { focus = false } = {}) {
  result = key;
  errorKey = null;
  $("loading").hidden = true;
  $("survey").hidden = true;
  $("result").hidden = false;
  render();
  if (focus) $("result").focus();  // a screen reader reads the outcome at once
}

function languageOf(data) {
  const language = data?.language ?? data?.error?.details?.[0]?.language;
  return language === "da" || language === "en" ? language : null;
}

async function load() {
  const response = await fetch(api, { cache: "no-store" });
  const data = await response.json().catch(() => null);
  if (!asked) lang = languageOf(data) || lang;
  const code = data?.error?.code;
  if (response.ok) {
    $("loading").hidden = true;
    $("survey").hidden = false;
    render();
  } else if (code in RESULTS) {
    show(code);
  } else {
    $("loading").hidden = true;
    errorKey = code in TEXTS[lang] ? code : "failed";
    render();
  }
}

async function submit(event) {
  event.preventDefault();
  const chosen = document.querySelector("input[name=score]:checked");
  if (!chosen) {
    errorKey = "noScore";
    render();
    document.querySelector("input[name=score]").focus();
    return;
  }
  errorKey = null;
  render();
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("sending");
  try {
    const response = await fetch(api, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ score: Number(chosen.value), comment: $("comment").value }),
    });
    const data = await response.json().catch(() => null);
    const code = data?.error?.code;
    if (response.ok) show("answered_now", { focus: true });
    else if (code in RESULTS) show(code, { focus: true });
    else throw new Error(code in TEXTS[lang] ? code : "failed");
  } catch (error) {
    errorKey = error.message in TEXTS[lang] ? error.message : "failed";
    render();
  } finally {
    button.disabled = false;
    button.textContent = t("submit");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  render();
  $("lang").addEventListener("change", (e) => { lang = e.target.value; render(); });
  $("survey").addEventListener("submit", submit);
  load().catch(() => { $("loading").hidden = true; errorKey = "failed"; render(); });
});
