// The moderation queue by keyboard: J / K move, X ticks, A approves, R rejects the ticked;
// and the live counts, refreshed from the same page every few seconds.

const form = document.getElementById("moderation-form");
if (form) {
  const items = [...form.querySelectorAll(".queue__item")];
  let current = -1;
  const focus = (index) => {
    if (items.length === 0) return;
    items[current]?.classList.remove("is-current");
    current = Math.max(0, Math.min(items.length - 1, index));
    items[current].classList.add("is-current");
    items[current].querySelector("input").focus();
  };
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.matches?.("textarea, input:not([type=checkbox]), select")) return;
    const key = event.key.toLowerCase();
    if (key === "j") focus(current + 1);
    else if (key === "k") focus(current - 1);
    else if (key === "x" && current >= 0) items[current].querySelector("input").click();
    else if (key === "a") form.querySelector("button[value=approve]").click();
    else if (key === "r") form.querySelector("button[value=reject]").click();
    else return;
    event.preventDefault();
  });
}

const counts = document.getElementById("live-counts");
if (counts) {
  const refresh = async () => {
    const answer = await fetch(location.pathname, { credentials: "same-origin" });
    if (!answer.ok) return;
    const fresh = new DOMParser()
      .parseFromString(await answer.text(), "text/html")
      .getElementById("live-counts");
    if (fresh) counts.replaceChildren(...[...fresh.childNodes].map((n) => document.adoptNode(n)));
  };
  setInterval(() => refresh().catch(() => {}), Number(counts.dataset.refreshSeconds) * 1000);
}
