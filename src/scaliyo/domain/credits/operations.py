"""What AI work costs (PRODUCT.md, Credits).

Rules:
- 1 AI credit = 800 tokens; token counts are whole numbers ≥ 0;
- each operation has a minimum cost: email_sequence 3, content_generation 2, lead_research 2,
  lead_scoring 1, dashboard_insights 1, blog_content 3, image_generation 2, batch_generation 5;
- an operation is charged max(minimum, ceil(tokens / 800));
- before the provider is called it reserves max(minimum, ceil((prompt tokens + max output
  tokens) / 800)); since the tokens used never exceed prompt + max output, the reservation
  covers the charge (and a charge is never more than its reservation: it is capped there).
"""

from __future__ import annotations

from enum import StrEnum

from scaliyo.domain.shared.errors import FieldError, ValidationFailed

TOKENS_PER_CREDIT = 800


class Operation(StrEnum):
    EMAIL_SEQUENCE = "email_sequence"
    CONTENT_GENERATION = "content_generation"
    LEAD_RESEARCH = "lead_research"
    LEAD_SCORING = "lead_scoring"
    DASHBOARD_INSIGHTS = "dashboard_insights"
    BLOG_CONTENT = "blog_content"
    IMAGE_GENERATION = "image_generation"
    BATCH_GENERATION = "batch_generation"


MINIMUM_CREDITS: dict[Operation, int] = {
    Operation.EMAIL_SEQUENCE: 3,
    Operation.CONTENT_GENERATION: 2,
    Operation.LEAD_RESEARCH: 2,
    Operation.LEAD_SCORING: 1,
    Operation.DASHBOARD_INSIGHTS: 1,
    Operation.BLOG_CONTENT: 3,
    Operation.IMAGE_GENERATION: 2,
    Operation.BATCH_GENERATION: 5,
}


class UnknownOperation(ValidationFailed):
    code = "unknown_operation"
    title = "No such AI operation"


def operation(raw: Operation | str) -> Operation:
    try:
        return Operation(raw)
    except ValueError:
        known = ", ".join(op.value for op in Operation)
        raise UnknownOperation(
            f"{raw!r} is not an AI operation (one of {known}).",
            errors=[FieldError("operation", "unknown_operation", f"One of {known}.")],
        ) from None


def _tokens(tokens: int, field: str) -> int:
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
        raise ValidationFailed(
            f"{field} must be a whole number of tokens, 0 or more.",
            errors=[FieldError(field, "out_of_range", "A whole number ≥ 0.")],
        )
    return tokens


def credits_for_tokens(tokens: int) -> int:
    """ceil(tokens / 800), in integers."""
    return -(-_tokens(tokens, "tokens") // TOKENS_PER_CREDIT)


def charge_for(op: Operation | str, tokens: int) -> int:
    """What an operation that used ``tokens`` costs: max(minimum, ceil(tokens / 800))."""
    return max(MINIMUM_CREDITS[operation(op)], credits_for_tokens(tokens))


def reservation_for(op: Operation | str, estimated_tokens: int) -> int:
    """What to hold before the call, from prompt tokens + max output tokens."""
    _tokens(estimated_tokens, "estimated_tokens")
    return max(MINIMUM_CREDITS[operation(op)], credits_for_tokens(estimated_tokens))
