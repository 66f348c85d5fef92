// AV dual – shared by every page that uses the shared login (inlined after base.js by common/web.py): the
// login (Cognito InitiateAuth with its challenges, token login where served locally), the session, the
// site navigation by role, and the API call. Plain JS, no build step. Text for people is German.

let session = null; // {token, claims, role}
let pendingChallenge = null; // {name, session, username}
let pageHooks = { roles: [], onStart: () => {}, onEnd: () => {} };

/** The page's API (same origin): ``json`` or ``form`` (FormData) body, extra headers; 401 ends the session. */
async function api(method, path, { json, form, headers = {} } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${session.token}`, ...headers } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  const resp = await fetch(API + path, init);
  const body = await resp.json().catch(() => null);
  if (resp.status === 401) logout("Die Anmeldung ist abgelaufen. Bitte erneut anmelden.");
  return { status: resp.status, body };
}

// ------------------------------------------------------------------ login
async function handleAuthResult(result, username) {
  if (result.AuthenticationResult) {
    startSession(result.AuthenticationResult.IdToken);
    return;
  }
  pendingChallenge = { name: result.ChallengeName, session: result.Session, username };
  $("login-new-password-field").hidden = result.ChallengeName !== "NEW_PASSWORD_REQUIRED";
  $("login-code-field").hidden = !["SOFTWARE_TOKEN_MFA", "MFA_SETUP"].includes(result.ChallengeName);
  $("login-mfa-setup").hidden = result.ChallengeName !== "MFA_SETUP";
  if (result.ChallengeName === "MFA_SETUP") {
    const assoc = await cognito("AssociateSoftwareToken", { Session: result.Session });
    pendingChallenge.session = assoc.Session;
    $("login-mfa-secret").textContent = assoc.SecretCode;
  }
  $("login-error").textContent = {
    NEW_PASSWORD_REQUIRED: "Bitte ein neues Passwort festlegen.",
    SOFTWARE_TOKEN_MFA: "Bitte den Code aus der Authenticator-App eingeben.",
    MFA_SETUP: "Bitte die Zwei-Faktor-Anmeldung einrichten.",
  }[result.ChallengeName] || "Diese Anmeldeart wird nicht unterstützt.";
}

async function onLogin(ev) {
  ev.preventDefault();
  const username = $("login-user").value.trim();
  const btn = $("login-submit");
  btn.disabled = true;
  $("login-error").textContent = "";
  try {
    if (!pendingChallenge) {
      const result = await cognito("InitiateAuth", {
        AuthFlow: "USER_PASSWORD_AUTH", ClientId: CONFIG.client_id,
        AuthParameters: { USERNAME: username, PASSWORD: $("login-password").value },
      });
      await handleAuthResult(result, username);
    } else {
      const c = pendingChallenge;
      const responses = { USERNAME: c.username };
      if (c.name === "NEW_PASSWORD_REQUIRED") responses.NEW_PASSWORD = $("login-new-password").value;
      if (c.name === "SOFTWARE_TOKEN_MFA") responses.SOFTWARE_TOKEN_MFA_CODE = $("login-code").value.trim();
      let sessionToken = c.session;
      if (c.name === "MFA_SETUP") {
        const v = await cognito("VerifySoftwareToken", { Session: c.session, UserCode: $("login-code").value.trim() });
        sessionToken = v.Session;
      }
      pendingChallenge = null;
      const result = await cognito("RespondToAuthChallenge", {
        ChallengeName: c.name, ClientId: CONFIG.client_id, Session: sessionToken, ChallengeResponses: responses,
      });
      await handleAuthResult(result, c.username);
    }
  } catch (e) {
    pendingChallenge = null;
    $("login-error").textContent = e && e.type === "NoEndpoint"
      ? "Die Anmeldung ist hier nicht eingerichtet. Bitte beim Bildungsbüro melden."
      : (AUTH_ERRORS[e && e.type] || "Die Anmeldung ist fehlgeschlagen. Bitte erneut versuchen.");
  } finally {
    btn.disabled = false;
  }
}

// Only where the page is served locally (make serve): common/web.py leaves the form out everywhere else.
function onTokenLogin(ev) {
  ev.preventDefault();
  const token = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
  try {
    decodeJwt(token);
  } catch (_) {
    $("login-error").textContent = "Das ist kein gültiges Token.";
    return;
  }
  startSession(token);
}

// ------------------------------------------------------------------ session
/** Start the page with this token, or send the person to their own page (CONFIG.homes) if this one is not theirs. */
function startSession(token) {
  const claims = decodeJwt(token);
  const role = roleOf(claims);
  if (!pageHooks.roles.includes(role)) {
    const home = role && (CONFIG.homes || {})[role];
    if (home) {
      sessionStorage.setItem(TOKEN_KEY, token);
      window.location.assign(home);
      return;
    }
    sessionStorage.removeItem(TOKEN_KEY);
    $("login").hidden = false;
    $("login-error").textContent = pageHooks.refusal || "Diese Seite ist für dieses Konto nicht freigegeben.";
    return;
  }
  session = { token, claims, role };
  sessionStorage.setItem(TOKEN_KEY, token);
  $("login").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = `Angemeldet: ${claims["cognito:username"] || claims.email || "unbekannt"}`;
  const nav = $("site-nav");
  let shown = 0;
  nav.querySelectorAll("a[data-roles]").forEach((a) => {
    a.hidden = !a.dataset.roles.split(" ").includes(role);
    if (!a.hidden) shown += 1;
  });
  nav.hidden = shown < 2; // one link (this page) is no navigation
  return pageHooks.onStart(session);
}

function logout(message = "") {
  session = null;
  pendingChallenge = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("app").hidden = true;
  $("who").hidden = true;
  $("site-nav").hidden = true;
  $("login").hidden = false;
  $("login-password").value = "";
  $("login-error").textContent = message;
  pageHooks.onEnd();
}

/**
 * Wire the shared login to the page: ``roles`` that may use it, ``onStart(session)`` once logged in,
 * ``onEnd()`` after logging out, ``refusal`` shown to anyone else without a page of their own. A saved,
 * unexpired token (another page's login) starts the session at once.
 */
function startLogin(hooks) {
  pageHooks = { ...pageHooks, ...hooks };
  $("login-form").addEventListener("submit", onLogin);
  if ($("token-form")) $("token-form").addEventListener("submit", onTokenLogin);
  $("logout").addEventListener("click", () => logout());
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (!saved) return;
  try {
    if (decodeJwt(saved).exp * 1000 > Date.now()) startSession(saved);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch (_) {
    sessionStorage.removeItem(TOKEN_KEY);
  }
}
