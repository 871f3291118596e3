"""Messages in the room (RULES.md, More rules): hosts' announcements to a lot's bidders,
bidders' questions and objections to the host, and the host's answers. All are recorded.

- ``Announce`` (staff, until the lot ends) → ``Announced``: everyone sees it (the board
  and every room show it).
- ``AskHost`` (a registered bidder, while the lot is open or suspended) →
  ``QuestionAsked``: staff (hosts and supervisors) see it whole; the asker sees its own;
  everyone else sees only that something was recorded at that sequence number, never
  who asked or what.
- ``AnswerQuestion`` (staff, until the lot ends, once per question) →
  ``QuestionAnswered``: staff and the asker see it; with ``public`` everyone sees the
  answer and the question's text, never the asker.
"""

from typing import Any

from auction.messages import MESSAGES
from auction.model import (
    Announce,
    Announced,
    AnswerQuestion,
    AskHost,
    Decision,
    QuestionAnswered,
    QuestionAsked,
    Rejection,
)
from auction.state import OPEN, PAUSED, LotState, Question

#: What a bidder may send the host.
KINDS = ("question", "objection")
#: The commands of this module.
COMMANDS = (Announce, AskHost, AnswerQuestion)

MESSAGES.update({
    "unknown_question": ("未找到该提问", "No such question in this lot."),
    "already_answered": ("该提问已答复", "This question has been answered already."),
})


def decide(state: LotState, cmd: Announce | AskHost | AnswerQuestion, now: int,
           bad_text: Any, over: bool) -> Decision:
    """The events of a message command (``bad_text``: the lot decider's check of text
    that may go into the record; ``over``: whether the lot has ended or is due to close
    at ``now``)."""
    if isinstance(cmd, AskHost):
        return _ask(state, cmd, now, bad_text, over)
    if bad_text(cmd.actor) or bad_text(cmd.reason, required=False):
        return Rejection("invalid_params", "the actor is required; the reason is text")
    if bad_text(cmd.text):
        return Rejection("invalid_params", "the text is required, at most 500 characters")
    if over:
        return Rejection("invalid_state", "the lot has ended")
    if isinstance(cmd, Announce):
        return [Announced(at=now, actor=cmd.actor, text=cmd.text, reason=cmd.reason)]
    question = state.questions.get(cmd.question) if isinstance(cmd.question, int) else None
    if question is None:
        return Rejection("unknown_question")
    if question.answer is not None:
        return Rejection("already_answered")
    if not isinstance(cmd.public, bool):
        return Rejection("invalid_params", "public must be true or false")
    return [QuestionAnswered(at=now, actor=cmd.actor, question=cmd.question, text=cmd.text,
                             public=cmd.public, reason=cmd.reason)]


def _ask(state: LotState, cmd: AskHost, now: int, bad_text: Any, over: bool) -> Decision:
    if over:
        return Rejection("closed")
    if state.status not in (OPEN, PAUSED):
        return Rejection("not_open", "questions are taken while the lot runs")
    bidder = state.bidders.get(cmd.bidder_id) if isinstance(cmd.bidder_id, str) else None
    if bidder is None:
        return Rejection("not_eligible")
    if cmd.token_gen is not None and cmd.token_gen != bidder.token_gen:
        return Rejection("bad_token", "the bidder's token was revoked")
    if cmd.kind not in KINDS:
        return Rejection("invalid_params", "kind must be question or objection")
    if bad_text(cmd.text) or any(bad_text(v, required=False)
                                 for v in (cmd.ip, cmd.device, cmd.ref)):
        return Rejection("invalid_params", "the text is required, at most 500 characters")
    return [QuestionAsked(at=now, actor=bidder.bidder_no, bidder_id=bidder.bidder_id,
                          bidder_no=bidder.bidder_no, kind=cmd.kind, text=cmd.text,
                          ip=cmd.ip, device=cmd.device, ref=cmd.ref)]


def asked(s: LotState, e: QuestionAsked) -> None:
    # A new dict, never changed in place: a copy of the state made to decide ahead may
    # share the old one.
    s.questions = {**s.questions, s.version: Question(
        s.version, e.at, e.bidder_id, e.bidder_no, e.kind, e.text)}


def answered(s: LotState, e: QuestionAnswered) -> None:
    old = s.questions[e.question]
    s.questions = {**s.questions, e.question: Question(
        old.seq, old.at, old.bidder_id, old.bidder_no, old.kind, old.text, e.text, e.public)}


def question_view(q: Question, *, staff: bool = False) -> dict[str, Any]:
    """A question as its asker (or, with ``staff``, hosts and supervisors) sees it."""
    out: dict[str, Any] = {"seq": q.seq, "at": q.at, "kind": q.kind, "text": q.text,
                           "answer": q.answer, "public": q.public}
    if staff:
        out.update(bidder_id=q.bidder_id, bidder_no=q.bidder_no)
    return out


def redact(state: LotState, seq: int, event: QuestionAsked | QuestionAnswered,
           audience: str, bidder_id: str | None) -> dict[str, Any]:
    """The event as a non-staff audience sees it (the asker: its own question and
    answer; everyone: a public answer and its question's text, never the asker)."""
    out: dict[str, Any] = {"seq": seq, "type": type(event).__name__, "at": event.at}
    asker = (event.bidder_id if isinstance(event, QuestionAsked)
             else state.questions[event.question].bidder_id)
    own = audience == "bidder" and asker == bidder_id
    if isinstance(event, QuestionAsked):
        if own:
            out.update(own=True, kind=event.kind, text=event.text)
    elif own or event.public:
        question = state.questions[event.question]
        out.update(question=event.question, text=event.text, public=event.public,
                   kind=question.kind, question_text=question.text)
        if own:
            out["own"] = True
    return out
