// The waiting-room board: the numbers called last and their counters, live from
// /api/board/events. A new call lights up the top row and, once someone has switched the
// sound on (browsers allow sound only after a click), plays a short chime made here.
// Everything is said in every client language at once, the agency's first language first (a
// TV has no language switch): the words of each from GET /api/wording/pages.
"use strict";

let wordings = [];  // GET /api/wording/pages of each client language, the first first
let live = null;  // the board's event stream (live.js)
let lastCall = null;  // the newest call shown: a different one is announced
let audio = null;
let soundOn = false;

const $ = (id) => document.getElementById(id);

function sayAll(el) {
  // The element's message (data-t) in every language: "Skranke / Counter", each part marked
  // with its language; after a line break instead of a slash where it has data-break.
  const parts = wordings.flatMap((wording, index) => {
    const span = document.createElement("span");
    span.lang = wording.lang;
    span.dir = wording.dir;
    const text = pageWords.said(wording, el.dataset.t);
    if (index === 0) {
      span.textContent = text;
      return [span];
    }
    span.className = "also";
    span.textContent = "break" in el.dataset ? text : `/ ${text}`;
    return ["break" in el.dataset ? document.createElement("br") : " ", span];
  });
  el.replaceChildren(...parts);
}

function joined(id, separator) {
  return wordings.map((wording) => pageWords.said(wording, id)).join(separator);
}

function speak() {
  if (!wordings.length) return;
  document.documentElement.lang = wordings[0].lang;
  document.documentElement.dir = wordings[0].dir;
  document.title = joined("board.called", " · ");
  $("called").setAttribute("aria-label", joined("board.called", " / "));
  for (const el of document.querySelectorAll("[data-t]")) sayAll(el);
}

function callKey(call) {
  return call ? `${call.number}|${call.counter}|${call.calls}|${call.called_at}` : null;
}

function row(call, index) {
  const li = $("callTemplate").content.firstElementChild.cloneNode(true);
  li.dataset.number = call.number;
  li.dataset.serving = String(call.serving);
  li.querySelector(".number").textContent = call.number;
  li.querySelector(".counterNumber").textContent = call.counter ?? "";
  for (const el of li.querySelectorAll("[data-t]")) sayAll(el);
  if (index === 0) li.classList.add("newest");
  return li;
}

function render(board) {
  const called = board.called || [];
  $("empty").hidden = called.length > 0;
  $("called").replaceChildren(...called.map(row));
  const key = callKey(called[0]);
  const isNew = lastCall !== null && key !== null && key !== lastCall;
  if (lastCall === null || key !== lastCall) lastCall = key ?? "";
  if (!isNew) return;
  // A new call (or a recall): the newest row flashes, screen readers hear it, a chime.
  const newest = $("called").firstElementChild;
  newest.classList.add("flash");  // (a fresh element: the animation runs from the start)
  const c = called[0];
  const counter = wordings.map((wording) => pageWords.said(wording, "board.announce", { counter: c.counter }));
  $("announce").textContent = `${c.number}: ${counter.join(" / ")}`;
  chime();
}

function chime() {
  if (!soundOn || !audio) return;
  // Two soft tones, a "ding-dong", generated here (nothing is downloaded).
  const start = audio.currentTime + 0.05;
  for (const [offset, frequency] of [[0, 880], [0.35, 660]]) {
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.type = "sine";
    tone.frequency.value = frequency;
    volume.gain.setValueAtTime(0.0001, start + offset);
    volume.gain.exponentialRampToValueAtTime(0.4, start + offset + 0.03);
    volume.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.6);
    tone.connect(volume).connect(audio.destination);
    tone.start(start + offset);
    tone.stop(start + offset + 0.65);
  }
}

function toggleSound() {
  soundOn = !soundOn;
  if (soundOn) {
    audio = audio || new AudioContext();  // made on a click, so the browser lets it play
    audio.resume();
    chime();  // what it will sound like
  }
  const button = $("sound");
  button.setAttribute("aria-pressed", String(soundOn));
  button.dataset.t = soundOn ? "board.sound_off" : "board.sound_on";
  sayAll(button);
}

async function learnWords() {
  // The agency's first language tells which the others are.
  const first = await pageWords.in(null);
  const others = first.languages.map(({ code }) => code).filter((code) => code !== first.lang);
  wordings = [first, ...await Promise.all(others.map((lang) => pageWords.in(lang)))];
  speak();
}

function follow() {
  live = followLive("/api/board/events", "board", render, $("connection"));
}

document.addEventListener("DOMContentLoaded", () => {
  $("sound").addEventListener("click", toggleSound);
  learnWords().catch(() => { /* no words: the numbers are shown all the same */ }).then(follow);
});
