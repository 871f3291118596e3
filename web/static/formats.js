// What each format other than `english` adds to the pages. A module under formats/
// exports an object with any of:
//   room(el, ctx)   draws the format's part of the bidder room into `el`
//   board(el, ctx)  the same on the public board
//   host(el, ctx)   the same on the host console (the selected lot)
//   template()      sample `params` for a new lot (the host console's JSON field)
// ctx: {state, you, conn, messages, t, money, serverNow, rerender}. `state` is the lot's
// snapshot (its format's own state is `state.play`), `you` the bidder's own standing,
// `conn.act(act, amount?)` sends a bidder action and resolves with its ack or rejection.
// Strings: each module calls addStrings({zh: {...}, en: {...}}) from i18n.js.

import dutch from "./formats/dutch.js";
import japanese from "./formats/japanese.js";
import listingTimed from "./formats/listing_timed.js";
import multiRound from "./formats/multi_round.js";
import sealed from "./formats/sealed.js";

export const FORMAT_UI = {
  listing_timed: listingTimed, sealed, dutch, japanese, multi_round: multiRound,
};

/** The formats a host may create, english first. */
export const FORMAT_NAMES = ["english", ...Object.keys(FORMAT_UI)];

/** Draw the lot's format part of `page` into `el` (hidden when the format has none). */
export function drawPlay(page, el, ctx) {
  const draw = FORMAT_UI[ctx.state?.format]?.[page];
  el.hidden = !draw;
  if (draw) draw(el, ctx);
  else el.replaceChildren();
}

/** Sample parameters of `format` for the host console, or null. */
export function templateOf(format) {
  return FORMAT_UI[format]?.template?.() ?? null;
}
