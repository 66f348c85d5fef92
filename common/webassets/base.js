// AV dual – shared by every page (inlined first by common/web.py): the page config, $, the API base, the
// token key, German Cognito error texts, JWT decoding and the Cognito API call. Plain JS, no build step.
// Text for people is German.
"use strict";

const CONFIG = JSON.parse(document.getElementById("config").textContent || "{}");
const $ = (id) => document.getElementById(id);
const API = "./";
const TOKEN_KEY = "avdual-token"; // every page shares one login (same origin)
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

/** office, school or companion (the Cognito groups of common/auth.py), null for anything else. */
function roleOf(claims) {
  const groups = groupsOf(claims);
  if (groups.includes("office")) return "office";
  if (groups.some((g) => g.startsWith("school-"))) return "school";
  if (groups.includes("companion")) return "companion";
  return null;
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
