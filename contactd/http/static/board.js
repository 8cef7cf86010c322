// The waiting-room board: the numbers called last and their counters, live from
// /api/board/events. A new call lights up the top row and, once someone has switched the
// sound on (browsers allow sound only after a click), plays a short chime made here.
// Everything is said in Danish and English at once: a TV has no language switch.
"use strict";

const SOUND = {
  off: { da: "Slå lyd til", en: "/ Sound on" },
  on: { da: "Slå lyd fra", en: "/ Sound off" },
};

let live = null;  // the board's event stream (live.js)
let lastCall = null;  // the newest call shown: a different one is announced
let audio = null;
let soundOn = false;

const $ = (id) => document.getElementById(id);

function callKey(call) {
  return call ? `${call.number}|${call.counter}|${call.calls}|${call.called_at}` : null;
}

function row(call, index) {
  const li = $("callTemplate").content.firstElementChild.cloneNode(true);
  li.dataset.number = call.number;
  li.dataset.serving = String(call.serving);
  li.querySelector(".number").textContent = call.number;
  li.querySelector(".counterNumber").textContent = call.counter ?? "";
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
  $("announce").textContent = `${c.number}: skranke ${c.counter} / counter ${c.counter}`;
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
  const words = soundOn ? SOUND.on : SOUND.off;
  button.querySelector("[lang=da]").textContent = words.da;
  button.querySelector("[lang=en]").textContent = words.en;
}

function follow() {
  live = followLive("/api/board/events", "board", render, $("connection"));
}

document.addEventListener("DOMContentLoaded", () => {
  $("sound").addEventListener("click", toggleSound);
  follow();
});
