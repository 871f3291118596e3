// Chinese and English text of every page. Chinese is the default; the choice is kept in
// localStorage. Static text in the HTML carries data-i18n="key" (and data-i18n-placeholder,
// data-i18n-title) and is rewritten by applyI18n(); scripts call t(key, vars).

const STORAGE_KEY = "auction.lang";
export const LANGS = ["zh", "en"];

const STRINGS = {
  zh: {
    // Page titles and headings
    app_name: "电子竞价系统",
    index_title: "竞价标的",
    index_subtitle: "公共资源交易中心 · 网上竞价",
    room_title: "竞价室",
    host_title: "主持人控制台",
    board_title: "竞价公告屏",
    host_link: "主持人控制台",
    lots_empty: "暂无标的",
    lots_load_failed: "无法加载标的列表",
    open_board: "公告屏",
    home: "首页",

    // Lot fields
    lot: "标的",
    lot_id: "标的编号",
    title: "名称",
    status: "状态",
    countdown: "剩余时间",
    opens_in: "距开始",
    closes_in: "剩余时间",
    paused_countdown: "已暂停，剩余",
    ending: "正在结束…",
    closes_at: "截止时间 {time}",
    not_started: "未开始",
    ended: "已结束",
    best_forward: "当前最高价",
    best_reverse: "当前最低价",
    best_hidden: "不公开",
    no_bids: "暂无报价",
    bids_hidden: "其他竞买人的报价不公开",
    leader: "领先竞买号",
    bid_count: "报价次数",
    count_hidden: "不公开",
    lot_notice_paused: "暂停公告：{notice}",
    lot_notice_cancelled: "终止公告：{notice}",
    notice_restarted: "竞价已恢复，从起始价重新开始，此前报价作废",
    show_counts: "竞买人数与报价次数",
    show_counts_after_open: "开始竞价后公开",
    show_counts_after_close: "竞价结束后公开",
    bidders: "竞买人数",
    start_price: "起始价",
    step: "加价幅度",
    step_reverse: "降价幅度",
    deposit: "保证金",
    direction: "竞价方式",
    direction_forward: "正向竞价（价高者得）",
    direction_reverse: "反向竞价（价低者得）",
    visibility: "报价公开方式",
    visibility_price: "公开最优价",
    visibility_rank: "仅公开本人排名",
    visibility_blind: "不公开",
    improve: "加价规则",
    improve_leader: "须优于当前最优价",
    improve_own: "须优于本人上次报价",
    soft_close: "延时规则",
    soft_close_text: "最后 {window} 秒内有报价，延时至报价后 {extend} 秒",
    soft_close_none: "无延时",
    step_percent_text: "当前价的 {percent}%（{round}）",
    step_round_up: "向上取整到最小货币单位",
    step_round_down: "向下取整到最小货币单位",
    step_round_half_up: "四舍五入到最小货币单位",
    extend_on_leader_change: "（仅更换领先者的报价触发）",
    extend_on_rank_1: "（仅成为最高/最优价的报价触发）",
    extended: "已延时",
    has_reserve: "设有保留价",
    no_reserve: "无保留价",
    internal_ceiling: "内部控制价",
    reserve_entry_waiting: "待录入（开拍前未录入即无保留价）",
    reserve_entry_entered: "已录入，待监督人确认（密封至结束）",
    reserve_entry_approved: "已录入并经监督人确认（密封，结束时公开）",
    reserve_entry_lapsed: "无保留价（录入未在截止前确认）",
    reserve_entry_none: "无保留价",
    reserve_entry_revealed: "{amount}（结束时公开）",
    currency: "币种",
    time: "时间",
    amount: "金额",
    bidder_no: "竞买号",
    seq: "序号",
    name: "名称",

    // Bidder room
    my_no: "我的竞买号",
    my_rank: "我的排名",
    rank_n: "第 {n} 名",
    leading: "您当前领先",
    not_leading: "您未领先",
    you: "（您）",
    next_min_forward: "最低可出价",
    next_min_reverse: "最高可报价",
    your_bid: "我的报价",
    bid: "出价",
    bid_reverse: "报价",
    bidding: "提交中…",
    plus_steps: "+{n} 个幅度",
    minus_steps: "−{n} 个幅度",
    own_bids: "我的报价记录",
    history: "报价记录",
    no_own_bids: "尚未报价",
    bid_ok: "报价成功：{amount}",
    no_token: "缺少竞买凭证，请使用主持人发给您的竞价室链接进入。",
    not_eligible_note: "保证金尚未确认，暂不能出价。",
    eligible_note: "已具备竞价资格",

    // Connection
    conn_online: "在线",
    conn_connecting: "连接中",
    conn_offline: "离线",
    duration_days: "{d} 天 {hms}",
    improve_reverse: "降价规则",

    // Results
    result: "竞价结果",
    result_awarded: "成交：竞买号 {no}，成交价 {amount}",
    result_awarded_units: "成交（共 {units} 个单位）：{list}",
    award_item: "竞买号 {no} {units} 个 × {amount}",
    units_cut_off: "分配线（最低中标价）",
    units_allotted: "已分配 {allotted}/{total} 个单位",
    units_open: "尚有单位未分配：不低于起拍价即可出价",
    units_held: "您当前持有 {n} 个单位",
    units_none: "您的报价低于分配线，当前未持有单位",
    units_asked: "申购数量",
    units_lot: "竞价单位",
    units_lot_text: "共 {n} 个相同单位，价高者依次得之（同价先报者优先）；{pricing}；每位竞买人至多 {most} 个",
    pricing_pay_as_bid: "各按本人报价成交",
    pricing_uniform: "统一按最低中标价成交",
    result_you_won: "恭喜，您已竞得本标的。",
    result_you_lost: "本标的已由其他竞买人竞得。",
    result_failed: "流拍：{reason}",
    result_cancelled: "已取消：{reason}",
    result_closed: "竞价已结束，正在确认结果…",
    reason_no_bids: "无有效报价",
    reason_reserve_not_met: "最高报价未达到保留价",
    reason_ceiling_exceeded: "最优报价高于内部控制价",
    reason_too_few_bidders: "有效竞买人不足规定人数，未能开拍",
    reason_too_few_bids: "报价竞买人不足规定人数",
    min_bidders: "最少竞买人数",
    min_bidders_text: "{n} 人",
    below_min_award_single: "；仅一人报价时以起始价成交",
    reason_soft_close: "竞价截止前有报价，自动延时",
    reason_bad_deadline: "时间设置不正确",

    // Host console
    staff_token: "工作人员令牌",
    staff_token_placeholder: "粘贴令牌",
    sessions: "竞价会",
    create_session: "创建竞价会",
    session_name: "竞价会名称",
    session: "所属竞价会",
    no_session: "请先创建竞价会",
    create_lot: "创建标的",
    format_label: "竞价形式",
    params_json: "参数（JSON）",
    lot_title: "标的名称",
    start_price_label: "起始价（元）",
    step_label: "加价/降价幅度（元）",
    deposit_label: "保证金（元）",
    duration_label: "竞价时长（秒）",
    reserve_label: "保留价（正向，可选）",
    ceiling_label: "最高限价（反向，可选）",
    extend_window_label: "延时触发窗口（秒）",
    extend_label: "延时时长（秒）",
    max_jump_label: "单次最多加价幅度数（可选）",
    optional: "可选",
    lots: "标的列表",
    refresh: "刷新",
    select_lot: "请在列表中选择一个标的",
    selected_lot: "当前标的",
    register_bidder: "竞买人报名",
    bidder_id: "竞买人编号",
    bidder_name: "竞买人名称",
    register: "报名",
    registered: "已报名：竞买号 {no}",
    room_link: "竞价室链接",
    copy: "复制",
    copied: "已复制",
    confirm_deposit: "确认保证金到账",
    deposit_bidder: "竞买人",
    deposit_amount: "到账金额（元）",
    deposit_account: "付款账户",
    account_required: "请填写保证金付款账户",
    reissue: "重新生成链接",
    deposit_confirmed: "保证金已确认",
    register_table: "竞买人名册",
    eligible: "资格",
    eligible_yes: "有资格",
    eligible_no: "保证金未到账",
    last_bid: "最后报价",
    bids_count: "报价数",
    control: "竞价控制",
    reason: "操作理由",
    reason_placeholder: "暂停、恢复、延时、取消须填写理由",
    reason_optional: "理由（选填，记入记录）",
    schedule: "排期",
    start: "开始竞价",
    pause: "暂停",
    resume: "恢复",
    extend: "延时",
    extend_to_s: "延至（从现在起，秒）",
    cancel: "取消标的",
    done: "操作成功",
    created_session: "竞价会已创建：{id}",
    created_lot: "标的已创建：{id}",
    all_bids: "全部报价",
    reserve: "保留价",
    ceiling: "最高限价",
    none: "无",
    error_prefix: "错误",
    need_token: "请先填写工作人员令牌",
    lang_toggle: "English",
  },
  en: {
    app_name: "E-Auction",
    index_title: "Lots",
    index_subtitle: "Public resource trading center · online bidding",
    room_title: "Bidding room",
    host_title: "Host console",
    board_title: "Public board",
    host_link: "Host console",
    lots_empty: "No lots yet",
    lots_load_failed: "Could not load the lots",
    open_board: "Board",
    home: "Home",

    lot: "Lot",
    lot_id: "Lot ID",
    title: "Title",
    status: "Status",
    countdown: "Time left",
    opens_in: "Opens in",
    closes_in: "Time left",
    paused_countdown: "Paused, time left",
    ending: "Closing…",
    closes_at: "Closes at {time}",
    not_started: "Not started",
    ended: "Ended",
    best_forward: "Highest bid",
    best_reverse: "Lowest bid",
    best_hidden: "Not shown",
    no_bids: "No bids yet",
    bids_hidden: "Other bidders' prices are not shown",
    leader: "Leading bidder",
    bid_count: "Bids",
    count_hidden: "not disclosed",
    lot_notice_paused: "Suspension notice: {notice}",
    lot_notice_cancelled: "Termination notice: {notice}",
    notice_restarted: "Bidding resumed from the start price; earlier bids are void",
    show_counts: "Counts of bidders and bids",
    show_counts_after_open: "disclosed once bidding opens",
    show_counts_after_close: "disclosed once bidding ends",
    bidders: "Bidders",
    start_price: "Start price",
    step: "Step",
    step_reverse: "Step down",
    deposit: "Deposit",
    direction: "Direction",
    direction_forward: "Forward (highest wins)",
    direction_reverse: "Reverse (lowest wins)",
    visibility: "Visibility",
    visibility_price: "Best price shown",
    visibility_rank: "Own rank only",
    visibility_blind: "Nothing shown",
    improve: "Improvement",
    improve_leader: "Must beat the best bid",
    improve_own: "Must beat own last bid",
    soft_close: "Soft close",
    soft_close_text: "A bid in the last {window} s extends to {extend} s after it",
    soft_close_none: "None",
    step_percent_text: "{percent}% of the current price ({round})",
    step_round_up: "rounded up to the minor unit",
    step_round_down: "rounded down to the minor unit",
    step_round_half_up: "rounded half up to the minor unit",
    extend_on_leader_change: " (only by a bid that changes the leader)",
    extend_on_rank_1: " (only by a bid that becomes the best)",
    extended: "Extended",
    has_reserve: "Has a reserve price",
    no_reserve: "No reserve",
    internal_ceiling: "Internal ceiling",
    reserve_entry_waiting: "To be entered (none entered before the opening: no reserve)",
    reserve_entry_entered: "Entered, awaiting a supervisor's approval (sealed until the end)",
    reserve_entry_approved: "Entered and approved by a supervisor (sealed, revealed at the end)",
    reserve_entry_lapsed: "No reserve (the entry was not approved in time)",
    reserve_entry_none: "No reserve",
    reserve_entry_revealed: "{amount} (revealed at the end)",
    currency: "Currency",
    time: "Time",
    amount: "Amount",
    bidder_no: "Bidder no.",
    seq: "Seq",
    name: "Name",

    my_no: "My bidder no.",
    my_rank: "My rank",
    rank_n: "No. {n}",
    leading: "You are leading",
    not_leading: "You are not leading",
    you: " (you)",
    next_min_forward: "Minimum bid",
    next_min_reverse: "Maximum bid",
    your_bid: "Your bid",
    bid: "Bid",
    bid_reverse: "Offer",
    bidding: "Sending…",
    plus_steps: "+{n} step(s)",
    minus_steps: "−{n} step(s)",
    own_bids: "My bids",
    history: "Bid history",
    no_own_bids: "No bids yet",
    bid_ok: "Bid accepted: {amount}",
    no_token: "No bidder token: open the room link the host gave you.",
    not_eligible_note: "Your deposit is not confirmed yet: you cannot bid.",
    eligible_note: "Eligible to bid",

    conn_online: "Online",
    conn_connecting: "Connecting",
    conn_offline: "Offline",
    duration_days: "{d}d {hms}",
    improve_reverse: "Offer rule",

    result: "Result",
    result_awarded: "Awarded to bidder {no} at {amount}",
    result_awarded_units: "Awarded ({units} units): {list}",
    award_item: "bidder {no} {units} × {amount}",
    units_cut_off: "Cut-off (lowest winning price)",
    units_allotted: "{allotted} of {total} units allotted",
    units_open: "Units are left: any price from the start price is accepted",
    units_held: "You hold {n} unit(s) now",
    units_none: "Your bid is below the cut-off: you hold no unit now",
    units_asked: "Units",
    units_lot: "Units",
    units_lot_text: "{n} identical units, best prices first (equal prices: the earlier); {pricing}; at most {most} per bidder",
    pricing_pay_as_bid: "each winner pays its own price",
    pricing_uniform: "every winner pays the lowest winning price",
    result_you_won: "Congratulations, you won this lot.",
    result_you_lost: "Another bidder won this lot.",
    result_failed: "Failed: {reason}",
    result_cancelled: "Cancelled: {reason}",
    result_closed: "Bidding has ended; the result is being settled…",
    reason_no_bids: "no valid bid",
    reason_reserve_not_met: "the best bid is below the reserve",
    reason_ceiling_exceeded: "the best bid is above the internal ceiling",
    reason_too_few_bidders: "fewer eligible bidders than the lot requires: it did not open",
    reason_too_few_bids: "fewer bidders bid than the lot requires",
    min_bidders: "Minimum bidders",
    min_bidders_text: "{n}",
    below_min_award_single: "; a single bidder wins at the start price",
    reason_soft_close: "a late bid extended the close",
    reason_bad_deadline: "the times are not valid",

    staff_token: "Staff token",
    staff_token_placeholder: "Paste token",
    sessions: "Sessions",
    create_session: "Create session",
    session_name: "Session name",
    session: "Session",
    no_session: "Create a session first",
    create_lot: "Create lot",
    format_label: "Format",
    params_json: "Parameters (JSON)",
    lot_title: "Lot title",
    start_price_label: "Start price (CNY)",
    step_label: "Step (CNY)",
    deposit_label: "Deposit (CNY)",
    duration_label: "Duration (seconds)",
    reserve_label: "Reserve (forward, optional)",
    ceiling_label: "Ceiling (reverse, optional)",
    extend_window_label: "Soft-close window (s)",
    extend_label: "Extension (s)",
    max_jump_label: "Max steps per bid (optional)",
    optional: "optional",
    lots: "Lots",
    refresh: "Refresh",
    select_lot: "Select a lot in the list",
    selected_lot: "Selected lot",
    register_bidder: "Register bidder",
    bidder_id: "Bidder ID",
    bidder_name: "Bidder name",
    register: "Register",
    registered: "Registered: bidder no. {no}",
    room_link: "Room link",
    copy: "Copy",
    copied: "Copied",
    confirm_deposit: "Confirm deposit",
    deposit_bidder: "Bidder",
    deposit_amount: "Amount received (CNY)",
    deposit_account: "Paying account",
    account_required: "Enter the account the deposit was paid from",
    reissue: "New link",
    deposit_confirmed: "Deposit confirmed",
    register_table: "Register",
    eligible: "Eligible",
    eligible_yes: "Yes",
    eligible_no: "No deposit",
    last_bid: "Last bid",
    bids_count: "Bids",
    control: "Control",
    reason: "Reason",
    reason_placeholder: "Required to pause, resume, extend or cancel",
    reason_optional: "Reason (optional, recorded)",
    schedule: "Schedule",
    start: "Start",
    pause: "Pause",
    resume: "Resume",
    extend: "Extend",
    extend_to_s: "Extend to (seconds from now)",
    cancel: "Cancel lot",
    done: "Done",
    created_session: "Session created: {id}",
    created_lot: "Lot created: {id}",
    all_bids: "All bids",
    reserve: "Reserve",
    ceiling: "Ceiling",
    none: "None",
    error_prefix: "Error",
    need_token: "Enter the staff token first",
    lang_toggle: "中文",
  },
};

const STATUS = {
  zh: {
    draft: "草稿", scheduled: "已排期", open: "竞价中", paused: "已暂停",
    closed: "已结束", awarded: "已成交", failed: "流拍", cancelled: "已取消",
  },
  en: {
    draft: "Draft", scheduled: "Scheduled", open: "Open", paused: "Paused",
    closed: "Closed", awarded: "Awarded", failed: "Failed", cancelled: "Cancelled",
  },
};

// Texts of the codes (code -> {zh, en}): the server's one catalogue (web/errors.py),
// fetched below. The server's own message {zh, en} is preferred when it sent one.
let CODES = {};

function codeWords(code) {
  return CODES[code]?.[current];
}

function stored() {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return LANGS.includes(value) ? value : "zh";
  } catch {
    return "zh";
  }
}

let current = stored();
const listeners = new Set();

// Not awaited at the top level: that would hold every page's script up past the page's
// load event, and what a person typed or clicked meanwhile would be lost. Until the
// catalogue is here a code shows the server's own message (or the generic words); the
// page is drawn again, as on a change of language, once it is.
fetch("/api/errors.json")
  .then((response) => (response.ok ? response.json() : {}))
  .catch(() => ({}))
  .then((codes) => {
    CODES = codes;
    for (const fn of listeners) fn(current);
  });

export function lang() {
  return current;
}

export function setLang(value) {
  if (!LANGS.includes(value) || value === current) return;
  current = value;
  try {
    localStorage.setItem(STORAGE_KEY, value);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  applyI18n();
  for (const fn of listeners) fn(value);
}

/** Add a page's own strings: `more` is `{zh: {key: text}, en: {key: text}}`. */
export function addStrings(more) {
  for (const l of LANGS) Object.assign(STRINGS[l], more[l] ?? {});
}

/** Call `fn(lang)` after every language change (to redraw dynamic text). */
export function onLangChange(fn) {
  listeners.add(fn);
}

function fill(text, vars) {
  return vars ? text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : text;
}

/** The text of `key` in the current language, with {name} placeholders filled from `vars`. */
export function t(key, vars) {
  const text = STRINGS[current][key] ?? STRINGS.zh[key] ?? key;
  return fill(text, vars);
}

export function statusName(status) {
  return STATUS[current][status] ?? status ?? "";
}

/** A rejection or error as text: the server's `message` {zh, en} when present, else ours. */
export function codeText(code, message) {
  if (message && typeof message === "object" && message[current]) return message[current];
  if (typeof message === "string" && message) return message;
  return codeWords(code) ?? (codeWords("error") ?? "") + (code ? ` (${code})` : "");
}

/** A failure or extension reason code in words; free text (a staff reason) as given. */
export function reasonText(reason) {
  if (!reason) return "";
  const key = `reason_${reason}`;
  if (key in STRINGS[current]) return t(key);
  return codeWords(reason) ?? reason;
}

/** Rewrite every [data-i18n], [data-i18n-placeholder] and [data-i18n-title] under `root`. */
export function applyI18n(root = document) {
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  const toggle = document.getElementById("lang-toggle");
  if (toggle) toggle.textContent = t("lang_toggle");
  const titleKey = document.body?.dataset.titleKey;
  if (titleKey) document.title = `${t(titleKey)} · ${t("app_name")}`;
}

/** Wire the #lang-toggle button (中文/English) and translate the page once. */
export function initI18n() {
  const toggle = document.getElementById("lang-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => setLang(current === "zh" ? "en" : "zh"));
  }
  applyI18n();
}
