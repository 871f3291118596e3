"""Human messages, in Chinese and English, for every machine-readable rejection code."""

MESSAGES: dict[str, tuple[str, str]] = {
    "not_open": ("标的尚未开始竞价", "The lot is not open for bidding."),
    "closed": ("竞价已结束", "Bidding on this lot has ended."),
    "paused": ("竞价已暂停", "Bidding is paused."),
    "cancelled": ("标的已取消", "The lot has been cancelled."),
    "not_eligible": ("您未报名本标的，无竞价资格", "You are not registered for this lot."),
    "deposit_missing": ("保证金未确认到账", "Your deposit has not been confirmed."),
    "not_improving": ("报价未达到最低加价幅度", "The bid does not improve by at least one step."),
    "off_step": ("报价须为加价幅度的整数倍", "The bid must be a whole number of steps."),
    "below_start": ("报价低于起始价", "The bid is below the start price."),
    "above_start": ("报价高于起始价", "The bid is above the start price."),
    "above_ceiling": ("报价超过最高限价", "The bid is above the ceiling price."),
    "above_cap": ("报价超过最高限价", "The bid is above the price cap."),
    "jump_too_large": ("报价超出允许的最大加价幅度", "The bid jumps more steps than allowed."),
    "already_leading": ("您已是当前最优报价者", "You already hold the best bid."),
    "revision_limit": ("报价修改次数已用完", "No more revisions of your bid are allowed."),
    "not_your_turn": ("尚未轮到您报价", "It is not your turn."),
    "invalid_amount": ("金额格式不正确", "The amount is not a valid decimal amount."),
    "rate_limited": ("操作过于频繁，请稍后再试", "Too many requests; slow down."),
    "forbidden": ("无权执行此操作", "You are not allowed to do this."),
    "bad_token": ("令牌无效、已过期、已撤销或不属于本标的",
                  "The token is invalid, expired, revoked or for another lot."),
    "invalid_state": ("当前状态下不能执行此操作", "Not possible in the lot's state."),
    "invalid_params": ("参数不正确", "The parameters are not valid."),
    "reason_required": ("请填写操作理由", "A reason is required for this action."),
    "already_registered": ("该竞买人已报名", "This bidder is already registered."),
    "unknown_bidder": ("未找到该竞买人", "No such bidder in this lot."),
    "deposit_too_low": ("保证金金额不足", "The deposit is less than the lot requires."),
    "number_taken": ("竞买号已被占用", "This bidder number is taken."),
    "too_early": ("未到设定时间", "The set time has not come yet."),
    "bad_deadline": ("时间设置不正确", "The time given is not valid."),
    "exists": ("对象已存在", "It exists already."),
    "not_supported": ("本标的的竞价方式不支持此操作", "The lot's format does not take this."),
    "signature_required": ("本标的的报价须经数字签名", "This action must be signed."),
    "no_key": ("尚未登记签名公钥", "Enrol a signing key before signing."),
    "bad_signature": ("数字签名验证失败", "The signature does not verify."),
    "replayed_signature": ("签名已使用过或序号无效（疑似重放）",
                           "The signature was used before or sees the future (a replay)."),
    "bad_key": ("签名公钥或证书无效", "The key or certificate is not valid."),
    "key_in_use": ("已用该公钥签名，不能更换", "The key was used to sign; it cannot be replaced."),
    "restart_not_allowed": ("本标的规则不允许恢复后重新竞价",
                            "The lot's rules do not allow bidding to restart on resuming."),
}


def message(code: str) -> dict[str, str]:
    """``{"zh": ..., "en": ...}`` for ``code``; unknown codes echo the code itself."""
    zh, en = MESSAGES.get(code, (code, code))
    return {"zh": zh, "en": en}
