from marsad.text.sentences import split_sentences


def test_arabic_punctuation_and_line_breaks_end_sentences():
    text = "هل تعود الكويت؟ نعم! قال الوزير: «سنعود»؛ ثم غادر.\nبغداد - وصل الوفد"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "هل تعود الكويت؟", "نعم!", "قال الوزير: «سنعود»؛", "ثم غادر.", "بغداد - وصل الوفد",
    ]
    for sentence in sentences:
        assert text[sentence.start : sentence.end] == sentence.text


def test_decimals_and_closing_quotes_stay_inside_the_sentence():
    text = 'بلغت التعويضات 49.5 مليار دولار." وأضاف البيان أن 2.5 مليار بقيت.'
    assert [s.text for s in split_sentences(text)] == [
        'بلغت التعويضات 49.5 مليار دولار."', "وأضاف البيان أن 2.5 مليار بقيت.",
    ]


def test_whitespace_only_text_has_no_sentences():
    assert split_sentences("  \n\n ") == []
    assert [s.text for s in split_sentences("بلا نقطة")] == ["بلا نقطة"]
