// The one-question satisfaction page behind a survey link (/s/<token>): the survey's state
// and language from GET /api/surveys/<token>, the answer by POST to the same URL. In the
// contact's language unless the link asks for another (?lang=) or the client switches; the
// page's status already said whether the link can be answered, the API says why not. Every
// word comes from GET /api/wording/pages.
"use strict";

// The result shown instead of the form, by the API's answer: its title and text.
const RESULTS = {
  survey_answered: ["csat.answered_title", "csat.answered_text"],
  survey_expired: ["csat.expired_title", "csat.expired_text"],
  survey_not_found: ["csat.not_found_title", "csat.not_found_text"],
  answered_now: ["csat.thanks_title", "csat.thanks_text"],
};

let words = null;  // GET /api/wording/pages: {lang, dir, languages, messages}
let result = null;  // a key of RESULTS once the survey cannot be (or has just been) answered
let errorId = null;  // the error shown, kept so a switch of language says it again
let sending = false;
const token = location.pathname.split("/").pop();
const api = `/api/surveys/${encodeURIComponent(token)}`;
const $ = (id) => document.getElementById(id);
const t = (id) => words?.messages[id] ?? "";

function speak() {
  // The page's fixed words, its title, direction and language switcher.
  document.documentElement.lang = words.lang;
  document.documentElement.dir = words.dir;
  document.title = t("csat.page_title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("lang").replaceChildren(...words.languages.map(({ code, name }) => {
    const option = new Option(name, code);
    option.lang = code;
    return option;
  }));
  $("lang").value = words.lang;
}

function render() {
  if (!words) return;
  speak();
  $("submit").textContent = t(sending ? "csat.sending" : "csat.submit");
  $("error").textContent = errorId ? t(errorId) : "";
  if (result) {
    const [title, text] = RESULTS[result];
    $("resultTitle").textContent = t(title);
    $("resultText").textContent = t(text);
  }
}

function show(key, { focus = false } = {}) {
  result = key;
  errorId = null;
  $("loading").hidden = true;
  $("survey").hidden = true;
  $("result").hidden = false;
  render();
  if (focus) $("result").focus();  // a screen reader reads the outcome at once
}

function errorOf(code) {
  // The message for an API error code, or the general one.
  return `csat.error.${code}` in (words?.messages ?? {}) ? `csat.error.${code}` : "csat.failed";
}

async function load() {
  const response = await fetch(api, { cache: "no-store" });
  const data = await response.json().catch(() => null);
  const asked = new URLSearchParams(location.search).get("lang");
  words = await pageWords.in(asked || data?.language || data?.error?.details?.[0]?.language);
  const code = data?.error?.code;
  if (response.ok) {
    $("loading").hidden = true;
    $("survey").hidden = false;
    render();
  } else if (code in RESULTS) {
    show(code);
  } else {
    $("loading").hidden = true;
    errorId = errorOf(code);
    render();
  }
}

async function submit(event) {
  event.preventDefault();
  const chosen = document.querySelector("input[name=score]:checked");
  if (!chosen) {
    errorId = "csat.no_score";
    render();
    document.querySelector("input[name=score]").focus();
    return;
  }
  errorId = null;
  sending = true;
  render();
  $("submit").disabled = true;
  try {
    const response = await fetch(api, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ score: Number(chosen.value), comment: $("comment").value }),
    });
    const data = await response.json().catch(() => null);
    const code = data?.error?.code;
    if (response.ok) show("answered_now", { focus: true });
    else if (code in RESULTS) show(code, { focus: true });
    else errorId = errorOf(code);
  } catch {
    errorId = "csat.failed";
  } finally {
    sending = false;
    $("submit").disabled = false;
    render();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", async (e) => {
    words = await pageWords.in(e.target.value);
    render();
  });
  $("survey").addEventListener("submit", submit);
  load().catch(async () => {
    $("loading").hidden = true;
    errorId = "csat.failed";
    words ??= await pageWords.in(null).catch(() => null);
    render();
  });
});
