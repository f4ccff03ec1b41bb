import pytest

from marsad.article import Article
from marsad.schema import Actor
from marsad.text.mentions import dateline_spans


def found(finder, text):
    return [(m.actor, m.text) for m in finder.find(text)]


@pytest.mark.parametrize(
    ("text", "actor", "word"),
    [
        ("وأعلنت وطهران موقفها", "iran", "وطهران"),
        ("رحب الوزير بالإيرانية الزائرة", "iran", "بالإيرانية"),
        ("قدم دعماً للكويت أمس", "kuwait", "للكويت"),
        ("اتفاق بين العراق والولايات المتحدة الأمريكية", "united_states", "والولايات المتحدة"),
        ("قال الجانب الإيراني", "iran", "الإيراني"),
        ("وصل الزوار الإيرانيين", "iran", "الإيرانيين"),
        ("وصل الزوار الإيرانيون", "iran", "الإيرانيون"),
        ("مسؤولة إيرانية", "iran", "إيرانية"),
        ("فالأميركيون غادروا", "united_states", "فالأميركيون"),
        ("زار أمريكا ثم أميركا", "united_states", "أمريكا"),
        ("قاءاني في بغداد", "iran", "قاءاني"),
        ("انتقد قاآني الخطة", "iran", "قاآني"),
        ("أعلنت الحكومةُ العراقيّة", "iraqi_government", "الحكومةُ العراقيّة"),
        ("اتصل عبدالمهدي بنظيره", "iraqi_government", "عبدالمهدي"),
        ("مسؤول في أبوظبي", "uae", "أبوظبي"),
        ("تحدث لافروف", "russia", "لافروف"),
        ("قوات الحشد الشعبي", "armed_factions", "الحشد الشعبي"),
        ("مقاتلون حوثيون", "armed_factions", "حوثيون"),
        ("بحسب #داعش", "isis", "داعش"),
    ],
)
def test_aliases_match_with_clitics_and_inflections(finder, text, actor, word):
    mentions = [m for m in finder.find(text) if m.actor == actor]
    assert mentions, f"{actor} not found in {text!r}"
    assert text[mentions[0].start : mentions[0].end].endswith(word.lstrip("#"))
    assert mentions[0].text == text[mentions[0].start : mentions[0].end]


@pytest.mark.parametrize(
    "text",
    [
        "سقطت قطرات المطر",                # قطر inside a longer word
        "أكد على التركيز على التعليم",     # تركي inside التركيز
        "يتابع برامج روسيا اليوم",         # a channel, not Russia
        "كتب الأمير تركي الفيصل مقالاً",   # a person named تركي
        "نشرت صحيفة واشنطن بوست تقريراً",  # a newspaper
        "صدر في أمريكا اللاتينية",          # another continent
        "استضافت عمّان المؤتمر",            # Amman is not an actor
        "بغداد - وصل وفد إلى العاصمة",       # a dateline names no actor
        "قال رئيسي في العمل إن المقر الرئيسي مغلق",  # رئيسي = my boss / main
    ],
)
def test_look_alikes_are_not_mentions(finder, text):
    assert found(finder, text) == []


def test_overlapping_actors_are_both_reported(finder):
    text = "هاجمت الفصائل الموالية لإيران القاعدة"
    assert {m.actor for m in finder.find(text)} == {"armed_factions", "iran"}


def test_longest_alias_wins_within_an_actor(finder):
    mentions = finder.find("قالت كتائب حزب الله")
    assert [(m.actor, m.text) for m in mentions] == [("armed_factions", "كتائب حزب الله")]


def test_datelines_are_found_only_at_line_starts():
    text = "دبي، الإمارات العربية المتحدة (CNN) -- قالت الإمارات - إن\nالرياض (رويترز) - أعلنت"
    spans = dateline_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "دبي، الإمارات العربية المتحدة (CNN) -- ",
        "الرياض (رويترز) - ",
    ]


def test_dateline_place_is_skipped_but_the_same_name_later_counts(finder):
    text = "الرياض - أكدت الرياض دعمها"
    mentions = finder.find(text)
    assert [(m.actor, m.start) for m in mentions] == [("saudi_arabia", text.index("الرياض", 3))]


def test_extra_actors_are_literal_and_matched_like_defaults(finder):
    oman = Actor(id="oman", aliases=["سلطنة عمان", "مسقط"], demonyms=["عماني"])
    regexy = Actor(id="weird", aliases=["(a+)+b", "x.*y"])
    text = "رحبت سلطنة عمان ووصل الوفد العماني إلى مسقط بينما بقيت عمّان هادئة xaay x.*y"
    mentions = finder.find(text, extra_actors=[oman, regexy])
    assert [(m.actor, m.text) for m in mentions] == [
        ("oman", "سلطنة عمان"), ("oman", "العماني"), ("oman", "مسقط"), ("weird", "x.*y"),
    ]
    assert "oman" not in finder.mentioned_actors(text)


def test_every_gold_actor_of_the_seed_articles_is_found(finder, seeds):
    for seed in seeds:
        article = Article(seed["id"], seed["text"], seed["title"])
        mentions = finder.find(article.full_text)
        assert set(seed["stances"]) <= {m.actor for m in mentions}, seed["id"]
        for mention in mentions:
            assert article.full_text[mention.start : mention.end] == mention.text


def test_seed_spans_point_at_the_actor_names(finder, seeds):
    seed = seeds[0]
    article = Article(seed["id"], seed["text"], seed["title"])
    kuwait = [m for m in finder.find(article.full_text) if m.actor == "kuwait"]
    assert kuwait and all("كويت" in m.text for m in kuwait)
    span = article.field_span(kuwait[0].start, kuwait[0].end)
    source = article.title if span.field == "title" else article.text
    assert source[span.start : span.end] == kuwait[0].text
