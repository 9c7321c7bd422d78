// The consultation page: after the DigiD login, get anonymous tokens for every open
// consultation this person may join, keep them in this browser until used, join this
// consultation with one of them, and vote without reloading the page (with keyboard
// shortcuts). Without JavaScript the vote and statement forms still work.

import {
  authorizationHeader,
  base64urlDecode,
  base64urlEncode,
  currentTokenKey,
  fetchToken,
  IssuanceError,
  parseIssuerDirectory,
} from "./privacypass.mjs";

const TOKENS_KEY = "inspraak.tokens.v1";
const KEYS = { a: "agree", 1: "agree", d: "disagree", 2: "disagree", p: "pass", 3: "pass" };
const REASONS = {
  already_issued: "already_issued",
  level_too_low: "level_too_low",
  wrong_scheme: "not_eligible",
  not_in_panel: "not_eligible",
  brp_condition: "not_eligible",
};

function loadTokens() {
  try {
    const stored = JSON.parse(localStorage.getItem(TOKENS_KEY) ?? "{}");
    return stored && typeof stored === "object" ? stored : {};
  } catch {
    return {};
  }
}

function saveTokens(tokens) {
  localStorage.setItem(TOKENS_KEY, JSON.stringify(tokens));
}

function showError(code, cid) {
  location.assign(`/fout/${code}?c=${encodeURIComponent(cid)}`);
}

function errorCodeOf(status, problem) {
  if (status === 409 && problem?.code === "already_issued") return "already_issued";
  if (status === 403) return REASONS[problem?.reason] ?? "not_eligible";
  if (status === 410 || problem?.code === "consultation_closed") return "consultation_closed";
  if (status === 429) return "rate_limited";
  if (status === 401) return "token_refused";
  return "error";
}

async function tokenFor(consultation) {
  const directoryUrl = consultation.issuer_directory_url;
  const answer = await fetch(directoryUrl, { credentials: "omit" });
  const directory = parseIssuerDirectory(await answer.text(), { baseUrl: directoryUrl });
  const key = currentTokenKey(directory, Date.now() / 1000);
  return fetchToken({
    issuerRequestUri: directory.issuerRequestUri,
    tokenKey: key.tokenKey,
    challenge: base64urlDecode(consultation.token_challenge),
  });
}

// "Log in once": one token for every open consultation this login may join.
async function obtainTokens(issuerUrl, cid) {
  const answer = await fetch(`${issuerUrl}/api/consultations/eligibility`, {
    credentials: "include",
    headers: { Accept: "application/json" },
  });
  if (!answer.ok) return { code: answer.status === 401 ? "token_refused" : "error" };
  const eligibility = await answer.json();
  const listing = await (await fetch("/api/consultations")).json();
  const published = new Map(listing.consultations.map((c) => [c.id, c]));
  const tokens = loadTokens();
  let ownProblem = null;
  for (const entry of eligibility.consultations) {
    const consultation = published.get(entry.consultation);
    if (entry.consultation === cid && !entry.eligible && !tokens[cid]) {
      ownProblem = REASONS[entry.reason] ?? "not_eligible";
    }
    if (!entry.eligible || tokens[entry.consultation] || consultation?.status !== "open") continue;
    try {
      tokens[entry.consultation] = base64urlEncode(await tokenFor(consultation));
      saveTokens(tokens);
    } catch (error) {
      if (entry.consultation !== cid) continue; // another consultation: try again later
      if (error instanceof IssuanceError) return { code: errorCodeOf(error.status, error.problem) };
      return { code: "error" };
    }
  }
  if (tokens[cid]) return { code: null };
  return { code: ownProblem ?? "not_eligible" };
}

async function join(cid) {
  const tokens = loadTokens();
  const answer = await fetch(`/api/c/${encodeURIComponent(cid)}/join`, {
    method: "POST",
    headers: { Authorization: authorizationHeader(base64urlDecode(tokens[cid])) },
    credentials: "same-origin",
  });
  if (answer.ok || answer.status === 401) {
    delete tokens[cid]; // spent, or refused for good: either way it is gone
    saveTokens(tokens);
  }
  if (answer.ok) {
    location.replace(`/c/${encodeURIComponent(cid)}`);
    return;
  }
  const problem = await answer.json().catch(() => null);
  showError(errorCodeOf(answer.status, problem), cid);
}

async function startJoining(section) {
  const cid = section.dataset.cid;
  const status = section.querySelector("#join-status");
  const url = new URL(location.href);
  const afterLogin = url.searchParams.get("login") === "1";
  if (afterLogin) {
    url.searchParams.delete("login");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  if (!loadTokens()[cid]) {
    if (!afterLogin) return;
    status.hidden = false;
    status.textContent = status.dataset.working;
    const { code } = await obtainTokens(section.dataset.issuerUrl, cid);
    if (code) {
      showError(code, cid);
      return;
    }
  }
  status.hidden = false;
  status.textContent = status.dataset.joining;
  await join(cid);
}

// --- voting -----------------------------------------------------------------------------

function enhanceVoting(section) {
  const form = section.querySelector("#vote-form");
  if (!form) return;
  const cid = section.dataset.cid;
  const live = section.querySelector("#vote-status");
  const text = section.querySelector("#statement-text");
  const sid = section.querySelector("#statement-id");
  const progress = section.querySelector("#progress");
  const bar = section.querySelector("#progress-bar");
  const standingAfter = Number(section.dataset.standingAfter);
  let busy = false;
  let standingDue = false;

  const showProgress = ({ voted, total }) => {
    progress.textContent = section.dataset.progressTemplate
      .replace("{voted}", String(voted))
      .replace("{total}", String(total));
    bar.max = Math.max(total, 1);
    bar.value = voted;
  };

  const refreshStanding = async () => {
    const page = await (await fetch(location.pathname, { credentials: "same-origin" })).text();
    const fresh = new DOMParser().parseFromString(page, "text/html").querySelector("#standing");
    const current = document.querySelector("#standing");
    if (fresh && current) current.replaceWith(document.adoptNode(fresh));
  };

  const send = async (choice) => {
    if (busy) return;
    busy = true;
    try {
      const answer = await fetch(`/api/c/${encodeURIComponent(cid)}/votes`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ statement: Number(sid.value), vote: choice }),
      });
      if (answer.status === 401) {
        location.reload();
        return;
      }
      if (!answer.ok) {
        live.textContent = section.dataset.failed;
        return;
      }
      const next = await (await fetch(`/api/c/${encodeURIComponent(cid)}/next`)).json();
      showProgress(next.progress);
      if (next.statement) {
        text.textContent = next.statement.text;
        sid.value = String(next.statement.id);
        live.textContent = `${section.dataset.saved} ${next.statement.text}`;
      } else {
        form.hidden = true;
        section.querySelector("#shortcut-hint").hidden = true;
        section.querySelector("#all-done").hidden = false;
        live.textContent = section.dataset.saved;
      }
      if (next.progress.voted >= standingAfter) standingDue = true;
    } catch {
      live.textContent = section.dataset.failed;
    } finally {
      busy = false;
    }
    if (standingDue) {
      standingDue = false;
      refreshStanding().catch(() => {});
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const choice = event.submitter?.value;
    if (choice) send(choice);
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || form.hidden) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    const choice = KEYS[event.key.toLowerCase()];
    if (!choice) return;
    event.preventDefault();
    send(choice);
  });
}

/** Offer only the login schemes the consultation's policy accepts (the issuer says). */
async function showLoginOptions(section) {
  const url = `${section.dataset.issuerUrl}/c/${encodeURIComponent(section.dataset.cid)}/login-options`;
  const response = await fetch(url, { credentials: "omit" });
  if (!response.ok) return; // keep every option: the issuer explains a refusal itself
  const { schemes } = await response.json();
  const allowed = new Set(schemes.map((option) => option.scheme));
  const rows = { digid: "login-digid-row", eherkenning: "login-eherkenning" };
  for (const [scheme, id] of Object.entries(rows)) {
    const row = document.getElementById(id);
    if (row) row.hidden = !allowed.has(scheme);
  }
}

const joinSection = document.getElementById("join");
if (joinSection) {
  showLoginOptions(joinSection).catch(() => {});
  startJoining(joinSection);
}
const voteSection = document.getElementById("stelling");
if (voteSection) enhanceVoting(voteSection);
