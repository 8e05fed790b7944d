// The sign-in waiting room (see pages/login.rs). When the portal holds a sign-in back
// because many people are signing in at once, the form comes back with the username kept
// and the wait in data-retry-after. This counts the wait down and then sends the form again
// by itself, once the password has been typed in again (the portal never sends a password
// back to the browser). Without this script the page still says how long to wait, and the
// Sign in button works as ever.
(function () {
  "use strict";
  var wait = document.getElementById("wait");
  if (!wait) {
    return;
  }
  var left = parseInt(wait.getAttribute("data-retry-after"), 10);
  var form = document.getElementById("login-form");
  var password = document.getElementById("password");
  if (!(left > 0) || !form || !password) {
    return;
  }
  function say(text) {
    wait.textContent = text;
  }
  function seconds(n) {
    return n === 1 ? "1 second" : n + " seconds";
  }
  function tick() {
    if (left > 0) {
      say("Type your password again: you will be signed in automatically in " + seconds(left) + ".");
      left -= 1;
      setTimeout(tick, 1000);
      return;
    }
    if (password.value) {
      say("Signing you in…");
      if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.submit();
      }
    } else {
      say("You can sign in now: type your password and press Sign in.");
    }
  }
  wait.hidden = false;
  tick();
  password.focus();
})();
