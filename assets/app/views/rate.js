// The page a rating link opens: the score in the link is recorded at once;
// the requester may change it and add a comment. No account needed: the
// token in the link's fragment names the ticket.

import { h, mount, showProblem, clearProblem } from "../dom.js";
import { anon } from "../api.js";
import { site } from "../main.js";

const LABELS = { good: "Good", okay: "Okay", bad: "Bad" };

export function view() {
  return async (main) => {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    let score = new URLSearchParams(location.search).get("score");
    const title = h("h1", {}, site.name);
    if (!token || !LABELS[score]) {
      mount(main, h("main", { class: "narrow" }, title,
        h("p", { class: "error" }, "This page needs the whole link from our email.")));
      return;
    }
    const path = `/api/v1/ratings/${encodeURIComponent(token)}`;
    const status = h("p", { id: "rating-status", role: "status" });
    const message = h("div", { "aria-live": "polite" });
    const choices = h("div", { class: "links", id: "rating-choices" });
    const comment = h("textarea", { name: "comment", id: "rating-comment", "aria-label": "Your comment", placeholder: "Anything you would like to add?" });
    const form = h("form", { class: "composer", id: "rating-form" }, comment,
      h("div", { class: "row" }, h("button", { class: "primary", type: "submit" }, "Send comment")), message);

    async function save(body) {
      clearProblem(message, form);
      try {
        const rating = await anon("POST", path, body);
        score = rating.score;
        status.textContent = `Thank you: you rated our help "${LABELS[score]}".`;
        for (const b of choices.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.value === score));
        return true;
      } catch (e) {
        if (e && e.status === 404) {
          mount(main, h("main", { class: "narrow" }, title,
            h("p", { class: "error", id: "rating-invalid" }, "This rating link is invalid or has expired.")));
        } else {
          showProblem(message, e, form);
        }
        return false;
      }
    }

    for (const value of Object.keys(LABELS)) {
      const b = h("button", { type: "button", value, "aria-pressed": "false" }, LABELS[value]);
      b.addEventListener("click", () => save({ score: value, comment: comment.value || null }));
      choices.append(b);
    }
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (await save({ score, comment: comment.value || null })) status.textContent += " We have your comment too.";
    });
    mount(main, h("main", { class: "narrow" }, title, status, choices, form));
    await save({ score });
  };
}
