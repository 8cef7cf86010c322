// The public pages' words, one copy for every page (booking, status, board, kiosk, survey):
// GET /api/wording/pages gives {lang, dir, languages, messages} in the language asked for,
// the agency's own words filled in and each message's placeholders ({time}) left to fill.
"use strict";

const pageWords = {
  // The words in `lang`, or in the agency's first language if `lang` is not offered.
  async in(lang) {
    const url = "/api/wording/pages";
    const asked = lang ? await fetch(`${url}?lang=${encodeURIComponent(lang)}`) : null;
    if (asked?.ok) return asked.json();
    const first = await fetch(url);
    if (!first.ok) throw new Error(`${url}: ${first.status}`);
    return first.json();
  },

  // A message's placeholders filled in from `values`; one not given is left as written.
  fill(text, values = {}) {
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  },

  // The message `id` of `wording` (the result of `in`), filled in; "" if it has none.
  said(wording, id, values = {}) {
    return pageWords.fill(wording?.messages[id] ?? "", values);
  },
};
