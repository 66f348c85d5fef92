// AV dual – shared by the intake web form and the office dashboard (inlined before each page's script by
// common/web.py): page config, Cognito login calls, ID-token helpers. Plain JS, no build step.
"use strict";

const CONFIG = JSON.parse(document.getElementById("config").textContent || "{}");
const $ = (id) => document.getElementById(id);
const API = "./";
const TOKEN_KEY = "avdual-token"; // the form and the dashboard share one login (same origin)
const AUTH_ERRORS = {
  NotAuthorizedException: "Benutzername oder Passwort ist falsch.",
  UserNotFoundException: "Benutzername oder Passwort ist falsch.",
  PasswordResetRequiredException: "Das Passwort muss zurückgesetzt werden. Bitte beim Bildungsbüro melden.",
  InvalidPasswordException: "Das neue Passwort erfüllt die Regeln nicht.",
  CodeMismatchException: "Der Code ist falsch.",
  EnableSoftwareTokenMFAException: "Der Code ist falsch.",
  TooManyRequestsException: "Zu viele Versuche. Bitte kurz warten.",
};

function decodeJwt(token) {
  const part = token.split(".")[1] || "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(decodeURIComponent(escape(json)));
}

function groupsOf(claims) {
  const g = claims["cognito:groups"] || [];
  return Array.isArray(g) ? g : String(g).replace(/[\[\]]/g, "").split(/[,\s]+/).filter(Boolean);
}

// Cognito user pool API as the browser calls it (InitiateAuth, RespondToAuthChallenge, …); errors are
// thrown as {type} with the Cognito exception name (see AUTH_ERRORS).
async function cognito(operation, payload) {
  if (!CONFIG.auth_endpoint) throw { type: "NoEndpoint" };
  const resp = await fetch(CONFIG.auth_endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${operation}`,
    },
    body: JSON.stringify(payload),
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw { type: String(body.__type || "").split("#").pop() };
  return body;
}
