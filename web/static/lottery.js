// The public draw (摇号) of a listing_timed lot explained in words, for the hall's board
// and the result announcement: who took part, how the winner was computed, who won.

import { addStrings, t } from "./i18n.js";

addStrings({
  zh: {
    lottery_words: "本标的报价达到最高限价 {cap}，{n} 名竞买人（竞买号 {candidates}）均接受该价格，"
      + "依规则以公开摇号确定竞得人：将开始前公布哈希的种子“{seed}”与标的编号“{lot}”连接后计算 SHA-256，"
      + "所得数值除以候选人数 {n} 的余数为 {index}；候选竞买号按顺序排列后第 {position} 位，即竞买号 {winner}，竞得本标的。",
    lottery_pending: "本标的报价已达到最高限价 {cap}，接受该价格的竞买人将以公开摇号确定竞得人（种子哈希已于开始前公布）。",
  },
  en: {
    lottery_words: "Bidding reached the price cap of {cap} and {n} bidders (numbers {candidates}) "
      + "accepted it, so the winner was drawn by public lottery: the seed “{seed}”, whose hash was "
      + "published before the start, joined with the lot id “{lot}”, hashed with SHA-256 and divided by "
      + "the number of candidates ({n}) leaves {index}; the {position}th candidate in order, bidder "
      + "{winner}, wins the lot.",
    lottery_pending: "Bidding reached the price cap of {cap}; the bidders who accept it will be "
      + "drawn by public lottery (the seed's hash was published before the start).",
  },
});

/**
 * The draw of `play` (a listing_timed lot's `state.play`) in words, or "" when the lot was
 * not decided by lottery. `money(amount)` formats the cap.
 */
export function lotteryText(play, lotId, money) {
  const d = play?.draw;
  if (d && Array.isArray(d.candidates)) {
    return t("lottery_words", {
      cap: money(play.cap), n: d.candidates.length, candidates: d.candidates.join("、"),
      seed: d.seed, lot: lotId, index: d.index, position: d.index + 1, winner: d.winner_no,
    });
  }
  if (play?.cap_reached) return t("lottery_pending", { cap: money(play.cap) });
  return "";
}
