from clawgate.config._locate import locate_keys, nearest, offset_to_position

TEXT = """{
  // a comment with { braces } and "quotes"
  auth: { order: { 'openai-codex': ["a", "b"] } },
  /* gateway: { port: 1 } */ gateway: {port: "abc"},
  "quoted key": [1, {deep: true}],
}"""


def test_keys_and_array_elements_are_located() -> None:
    positions = locate_keys(TEXT)
    assert positions[("auth",)] == (3, 3)
    assert positions[("auth", "order", "openai-codex")] == (3, 20)
    assert positions[("auth", "order", "openai-codex", 1)] == (3, 42)
    assert positions[("gateway", "port")] == (4, 40)
    assert positions[("quoted key", 1, "deep")] == (5, 22)


def test_keys_inside_comments_are_not_located() -> None:
    positions = locate_keys(TEXT)
    assert ("gateway",) in positions
    assert positions[("gateway",)] == (4, 30)


def test_nearest_falls_back_to_the_closest_ancestor() -> None:
    positions = locate_keys(TEXT)
    assert nearest(positions, ("gateway", "port", "missing")) == (4, 40)
    assert nearest(positions, ("nowhere",)) is None


def test_unfinished_text_is_located_as_far_as_it_goes() -> None:
    positions = locate_keys('{a: {b: [1, "unterminated')
    assert positions[("a", "b", 0)] == (1, 10)


def test_offset_to_position() -> None:
    assert offset_to_position("ab\ncd", 0) == (1, 1)
    assert offset_to_position("ab\ncd", 4) == (2, 2)
