// A live view of the daemon's board or status (server-sent events), shared by the kiosk, the
// board and the status page. EventSource reconnects by itself after a network error (the
// server asks for 2 s); after an error answer (a proxy's 502 while the daemon restarts) it
// gives up, so a new one is opened after a pause. `connection` says when it is down.
"use strict";

// The daemon's clock, not the browser's (which may be wrong, or the daemon's simulated):
// each snapshot says when it was taken (`at`), and the page keeps the difference.
const daemonClock = {
  offset: 0,
  heard(at) { if (at) this.offset = Date.parse(at) - Date.now(); },
  now() { return new Date(Date.now() + this.offset); },
};

function followLive(url, eventName, onData, connection) {
  let source = null;
  let retry = null;
  const open = () => {
    source?.close();
    source = new EventSource(url);
    source.addEventListener("open", () => { connection.hidden = true; });
    source.addEventListener(eventName, (event) => {
      connection.hidden = true;
      onData(JSON.parse(event.data));
    });
    source.addEventListener("error", () => {
      connection.hidden = false;
      if (source.readyState === EventSource.CLOSED) {
        clearTimeout(retry);
        retry = setTimeout(open, 5000);
      }
    });
  };
  open();
  return { close() { clearTimeout(retry); source?.close(); } };
}
