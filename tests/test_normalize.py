import pytest

from marsad.text.normalize import (
    MATCH_PIPELINE,
    MATCH_PIPELINE_VERSION,
    MODEL_PIPELINE,
    MODEL_PIPELINE_VERSION,
    collapse_whitespace,
    normalize_aligned,
    normalize_alef,
    normalize_alef_maksura,
    normalize_digits,
    normalize_for_matching,
    normalize_for_model,
    normalize_hamza_carriers,
    normalize_teh_marbuta,
    normalize_unicode_nfc,
    remove_invisible_chars,
    split_hashtag_words,
    strip_hashtag_signs,
    strip_html_tags,
    strip_tashkeel,
    strip_tatweel,
    unescape_html_entities,
)


@pytest.mark.parametrize(
    ("rewrite", "given", "expected"),
    [
        (strip_tashkeel, "العِرَاقُ يُرَحِّبُ", "العراق يرحب"),
        (strip_tatweel, "الكـــويت", "الكويت"),
        (normalize_alef, "أمريكا وإيران وآل ٱلبيت", "امريكا وايران وال البيت"),
        (normalize_alef_maksura, "إلى مستشفى", "إلي مستشفي"),
        (normalize_digits, "عام ٢٠٢٠ و۱۴۰۰", "عام 2020 و1400"),
        (normalize_unicode_nfc, "ا\u0654من", "أمن"),
        (split_hashtag_words, "#الكويت_تجمعنا", "#الكويت تجمعنا"),
        (strip_hashtag_signs, "#طهران تغرد", "طهران تغرد"),
        (unescape_html_entities, "قال &quot;لا&quot; &amp; مضى", 'قال "لا" & مضى'),
        (strip_html_tags, "سطر<br/>سطر", "سطر سطر"),
        (remove_invisible_chars, "إير\u200cان\u200f", "إيران"),
        (collapse_whitespace, "بغداد   -\t\tالكويت\n\n\n  وقال", "بغداد - الكويت\nوقال"),
        (normalize_teh_marbuta, "الحكومة العراقية", "الحكومه العراقيه"),
        (normalize_hamza_carriers, "قاءاني مسؤول رئيس", "قااني مسوول رييس"),
    ],
)
def test_each_rewrite_does_one_thing(rewrite, given, expected):
    assert rewrite(given) == expected


def test_model_pipeline_keeps_letter_forms_but_matching_pipeline_folds_them():
    text = "#الحكومةُ العراقيّة تُرحّب بـ«إيران» إلى حدٍّ ما"
    # the encoder saw hamza and alef maksura in pretraining: model input keeps them
    assert normalize_for_model(text) == "الحكومة العراقية ترحب ب«إيران» إلى حد ما"
    assert normalize_for_matching(text) == "الحكومه العراقيه ترحب ب«ايران» الي حد ما"


def test_pipelines_are_versioned_and_matching_is_stricter():
    assert MODEL_PIPELINE_VERSION == "model-v2" and MATCH_PIPELINE_VERSION == "match-v1"
    assert set(MODEL_PIPELINE) <= set(MATCH_PIPELINE)


def test_aligned_normalisation_maps_spans_back_to_the_original():
    original = "قال  الرئيسُ الإيرانيّ &quot;حسن روحاني&quot; في #طهران"
    aligned = normalize_aligned(original, MATCH_PIPELINE)
    assert aligned.text == normalize_for_matching(original)
    for word, source in [("الايراني", "الإيرانيّ"), ("روحاني", "روحاني"), ("طهران", "طهران")]:
        start = aligned.text.index(word)
        begin, end = aligned.original_span(start, start + len(word))
        assert original[begin:end] == source
    quote = aligned.text.index('"')
    begin, end = aligned.original_span(quote, quote + 1)
    assert original[begin:end] == "&quot;"


def test_alignment_is_identity_when_nothing_changes():
    aligned = normalize_aligned("بغداد", MODEL_PIPELINE)
    assert aligned.starts == (0, 1, 2, 3, 4) and aligned.ends == (1, 2, 3, 4, 5)
    with pytest.raises(ValueError):
        aligned.original_span(2, 2)
