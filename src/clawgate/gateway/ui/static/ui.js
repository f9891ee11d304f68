// clawgate's dashboard: the little that needs a script. Everything works without it but the
// device login's live countdown and status (reload the page instead).
"use strict";

function poll(box) {
  const show = (id, on) => { document.getElementById(id).hidden = !on; };
  const countdown = document.getElementById("login-countdown");
  let left = parseInt(countdown.dataset.seconds, 10);

  const tick = setInterval(() => {
    if (!isNaN(left) && left > 0) {
      left -= 1;
      countdown.textContent = String(left);
    }
  }, 1000);

  const render = (s) => {
    box.dataset.state = s.state;
    show("login-starting", s.state === "starting");
    show("login-waiting", s.state === "waiting");
    show("login-done", s.state === "done");
    show("login-failed", s.state === "failed");
    if (s.userCode) {
      document.getElementById("login-code").textContent = s.userCode;
      const link = document.getElementById("login-uri");
      link.textContent = s.verificationUri;
      link.href = s.verificationUri;
    }
    if (s.secondsLeft !== null) { left = s.secondsLeft; countdown.textContent = String(left); }
    if (s.state === "done") { document.getElementById("login-done").textContent = s.message; }
    if (s.state === "failed") {
      document.getElementById("login-failed").textContent =
        s.message + (s.fix ? " (fix: " + s.fix + ")" : "");
    }
  };

  const ask = async () => {
    let again = true;
    try {
      const answer = await fetch(box.dataset.status, {
        headers: { accept: "application/json" },
        credentials: "same-origin",
      });
      if (answer.ok) {
        const s = await answer.json();
        render(s);
        again = s.state === "starting" || s.state === "waiting";
      }
    } catch (e) {
      // the gateway restarting: keep asking
    }
    if (again) { setTimeout(ask, 1000); } else { clearInterval(tick); }
  };
  ask();
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("device-login");
  if (box) { poll(box); }

  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  }

  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", () => {
      const text = document.getElementById(button.dataset.copy).textContent;
      navigator.clipboard.writeText(text).then(() => { button.textContent = "Copied"; });
    });
  }
});
