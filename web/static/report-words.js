// The printed report in words: event and staff-action names, their details and collusion
// evidence as readable lines instead of event names, raw JSON and Unix milliseconds.

import { addStrings, lang, t } from "./i18n.js";

const EVENTS = {
  LotCreated: ["创建标的", "Lot created"], BidderRegistered: ["竞买人报名", "Bidder registered"],
  DepositConfirmed: ["确认保证金到账", "Deposit confirmed"], TokensRevoked: ["吊销竞买凭证", "Room links revoked"],
  LotScheduled: ["排期", "Scheduled"], LotOpened: ["开始竞价", "Bidding opened"],
  BidAccepted: ["报价", "Bid accepted"], CloseExtended: ["延时", "Close extended"],
  LotPaused: ["暂停", "Paused"], LotResumed: ["恢复", "Resumed"], LotCancelled: ["取消标的", "Lot cancelled"],
  LotClosed: ["竞价结束", "Bidding closed"], LotAwarded: ["成交", "Awarded"], LotFailed: ["流拍", "Failed"],
  DepositRefunded: ["退还保证金", "Deposit refunded"], DepositForfeited: ["没收保证金", "Deposit forfeited"],
  DepositApplied: ["保证金转为价款", "Deposit applied to the price"],
  DrawCommitted: ["公布摇号种子哈希", "Draw seed hash published"], LotDrawn: ["摇号", "Lot drawn"],
  ClockStepped: ["价格变动", "Clock price stepped"], LevelAdvanced: ["进入下一价位", "Next price level"],
  BidderDropped: ["竞买人退出", "Bidder dropped out"], ProxySet: ["设置代理出价", "Proxy bid set"],
  ReserveEntered: ["录入保留价（承诺值）", "Reserve entered (commitment)"],
  ReserveApproved: ["监督人确认保留价", "Reserve approved by a supervisor"],
  ReserveLapsed: ["保留价录入失效", "Reserve entry lapsed"],
  NoReserveAnnounced: ["宣布无保留价", "No reserve announced"],
  ReserveRevealed: ["公开保留价", "Reserve revealed"],
  ConfirmOpened: ["进入确认阶段", "Confirmation opened"], BidderConfirmed: ["竞买人确认", "Bidder confirmed"],
  TimedOpened: ["进入限时竞价", "Timed bidding opened"], CapReached: ["达到最高限价", "Price cap reached"],
  CapAccepted: ["接受最高限价", "Price cap accepted"], SecondaryBid: ["报第二指标", "Second quantity bid"],
  RoundStarted: ["轮次开始", "Round started"], TurnStarted: ["轮到报价", "Turn started"],
  TurnEnded: ["报价轮次结束", "Turn ended"], RoundEnded: ["轮次结束", "Round ended"],
  BidsOpened: ["开标", "Bids opened"], KeyEnrolled: ["登记签名公钥", "Signing key enrolled"],
};

const FIELDS = {
  bidder_id: ["竞买人编号", "Bidder id"], bidder_no: ["竞买号", "Bidder no."], name: ["名称", "Name"],
  amount: ["金额", "Amount"], account: ["账户", "Account"], title: ["标的名称", "Title"],
  closes_at: ["截止时间", "Closes at"], opens_at: ["开始时间", "Opens at"], previous: ["原值", "Before"],
  session_id: ["竞价会", "Session"], format: ["竞价方式", "Format"], params: ["参数", "Parameters"],
  reason: ["理由", "Reason"], bidders: ["竞买人", "Bidders"], lots: ["标的", "Lots"],
  count: ["次数", "Count"], ip: ["网络地址", "Address"], device: ["设备标识", "Device"],
  seed: ["种子", "Seed"], seed_hash: ["种子哈希", "Seed hash"], candidates: ["候选竞买号", "Candidates"],
  winner_no: ["摇中竞买号", "Drawn bidder"], index: ["序号", "Index"], ref: ["报价编号", "Bid ref"],
  price: ["价格", "Price"], round: ["轮次", "Round"], status: ["状态", "Status"],
  alg: ["签名算法", "Algorithm"], key: ["公钥", "Public key"], certificate: ["证书", "Certificate"],
  signed: ["数字签名", "Signature"], seen: ["已见序号", "Seq seen"], nonce: ["随机数", "Nonce"],
  sig: ["签名值", "Signature value"],
};

const zh = {};
const en = {};
for (const [k, [z, e]] of Object.entries(EVENTS)) { zh[`ev_${k}`] = z; en[`ev_${k}`] = e; }
for (const [k, [z, e]] of Object.entries(FIELDS)) { zh[`fd_${k}`] = z; en[`fd_${k}`] = e; }
addStrings({ zh, en });

const pad = (n) => String(n).padStart(2, "0");

function when(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** An event type or staff action in words (the code itself when unknown). */
export function eventName(type) {
  const key = `ev_${type}`;
  const text = t(key);
  return text === key ? type : text;
}

function fieldName(key) {
  const k = `fd_${key}`;
  const text = t(k);
  return text === k ? key.replace(/_/g, " ") : text;
}

/** One value in words: times (`*_at`, epoch ms) as dates, lists joined, objects as k: v. */
function valueText(key, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number" && (key === "at" || key.endsWith("_at")) && value > 1e11) return when(value);
  if (typeof value === "boolean") return lang() === "zh" ? (value ? "是" : "否") : (value ? "yes" : "no");
  if (Array.isArray(value)) return value.map((v) => valueText("", v)).join(lang() === "zh" ? "、" : ", ");
  if (typeof value === "object") {
    return Object.entries(value).filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => `${fieldName(k)} ${valueText(k, v)}`).join(lang() === "zh" ? "；" : "; ");
  }
  return String(value);
}

/** `row`'s fields but those in `skip`, as "名称 甲公司；金额 100.00" (readable, no JSON). */
export function detailsText(row, skip = []) {
  const sep = lang() === "zh" ? "；" : "; ";
  return Object.entries(row ?? {}).filter(([k, v]) => !skip.includes(k) && v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${fieldName(k)} ${valueText(k, v)}`).join(sep);
}
