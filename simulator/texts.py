"""E-mails simulated clients write, in Danish and English, and the answers simulated
caseworkers send. Written for the simulator (not taken from the classifier's corpus), so the
classifier sorts text it has never seen: per case type of the shipped configuration
(config/case_types.toml), and for any other agency's case type a plain question that names
it as that agency does, so that no text speaks of matters the agency does not handle."""

from __future__ import annotations

import random

# case type -> language -> (subject, body) pairs
MAILS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "family": {
        "da": [
            (
                "Familiesammenføring med min hustru",
                "Min hustru bor i Marokko, og vi vil gerne søge om familiesammenføring. Skal jeg "
                "stille en bankgaranti, og hvor stor skal vores bolig være?",
            ),
            (
                "Manglende dokumenter i min sag",
                "Jeg har fået brev om, at I mangler vores vielsesattest i sagen om ægtefællesammen"
                "føring. Kan jeg sende den som kopi, eller skal den være legaliseret?",
            ),
        ],
        "en": [
            (
                "Spouse reunification - housing requirement",
                "My husband is applying to join me in Denmark. Does our flat of 38 square metres "
                "meet the housing requirement, and when do we pay the bank guarantee?",
            ),
            (
                "My children joining me",
                "I have a residence permit and want my two children (9 and 13) to come and live "
                "with me. What documents do they need for the application?",
            ),
        ],
    },
    "work": {
        "da": [
            (
                "Skift af arbejdsgiver",
                "Jeg har opholdstilladelse efter beløbsordningen og har fået nyt job. Skal min nye "
                "arbejdsgiver søge om en ny tilladelse, før jeg må starte?",
            ),
            (
                "Fast track for vores nye ingeniør",
                "Vi er certificeret til fast track-ordningen og vil ansætte en ingeniør fra "
                "Indien. Hvor lang er sagsbehandlingstiden lige nu?",
            ),
        ],
        "en": [
            (
                "Pay limit scheme - salary question",
                "My employer offers a salary just above the pay limit, but part of it is a bonus. "
                "Does the bonus count towards the pay limit scheme?",
            ),
            (
                "Lost my job while on a work permit",
                "I was dismissed last week. How long can I stay in Denmark to look for a new job, "
                "and does my work permit end at once?",
            ),
        ],
    },
    "study": {
        "da": [
            (
                "Arbejde ved siden af studiet",
                "Jeg læser en kandidat på DTU. Hvor mange timer må jeg arbejde om ugen, og må jeg "
                "arbejde fuld tid i sommerferien?",
            ),
        ],
        "en": [
            (
                "Study permit for my master's degree",
                "I have been admitted to a master's programme at Aarhus University starting in "
                "September. When should I apply for my residence permit as a student?",
            ),
            (
                "Job seeking after graduation",
                "I finish my PhD in June. Can I get a permit to stay and look for work after I "
                "graduate, and must I apply before my study permit expires?",
            ),
        ],
    },
    "au_pair": {
        "da": [
            (
                "Ny værtsfamilie til vores au pair",
                "Vores au pair skal skifte til en anden værtsfamilie. Skal der laves en ny "
                "kontrakt og søges på ny?",
            ),
        ],
        "en": [
            (
                "Au pair contract question",
                "I will be an au pair with a family in Odense. How many hours a week may I work, "
                "and must the contract be signed before I apply?",
            ),
            (
                "Working holiday visa",
                "I am from New Zealand and want to come on a working holiday. Can I apply from "
                "inside Denmark?",
            ),
        ],
    },
    "permanent": {
        "da": [
            (
                "Krav til permanent ophold",
                "Jeg har boet i Danmark i otte år og arbejdet fuld tid. Opfylder jeg kravene til "
                "permanent ophold, når jeg har bestået Prøve i Dansk 2?",
            ),
        ],
        "en": [
            (
                "Permanent residence application refused",
                "My application for permanent residence was refused because of the employment "
                "requirement. When may I apply again?",
            ),
        ],
    },
    "eu": {
        "da": [
            (
                "Registreringsbevis som EU-borger",
                "Jeg er tysk statsborger og er flyttet til København for at arbejde. Hvordan får "
                "jeg et registreringsbevis?",
            ),
        ],
        "en": [
            (
                "Residence card for my wife under EU rules",
                "I am a Spanish citizen working in Denmark. My wife is from Colombia. Can she get "
                "a residence card as the family member of an EU citizen?",
            ),
        ],
    },
    "visa": {
        "da": [
            (
                "Visum til min mor",
                "Min mor bor i Vietnam og vil besøge os til jul. Hvilke papirer skal hun have med "
                "til ambassaden, og skal jeg sende en invitation?",
            ),
            (
                "Afslag på visum",
                "Min bror har fået afslag på sin visumansøgning. Kan han klage, eller skal han "
                "søge igen?",
            ),
        ],
        "en": [
            (
                "Business visa for a conference",
                "Our partner from Nigeria is invited to a conference in Copenhagen in May. How "
                "early should he apply for a Schengen visa?",
            ),
            (
                "Extend my visa",
                "My father is visiting on a visa that ends next week, but he is ill. Can his visa "
                "be extended?",
            ),
        ],
    },
    "extension": {
        "da": [
            (
                "Forlængelse af opholdstilladelse",
                "Min opholdstilladelse udløber om to måneder. Hvornår skal jeg søge om "
                "forlængelse, og må jeg blive og arbejde, mens I behandler sagen?",
            ),
        ],
        "en": [
            (
                "Renewal deadline for my permit",
                "I forgot to apply for an extension and my permit expired three days ago. What "
                "can I do now?",
            ),
        ],
    },
    "residence_card": {
        "da": [
            (
                "Mistet opholdskort",
                "Jeg har mistet min pung med mit opholdskort. Hvordan bestiller jeg et nyt, og "
                "skal jeg have taget biometri igen?",
            ),
        ],
        "en": [
            (
                "Residence card not received",
                "My permit was granted six weeks ago, but I have not received my residence card. "
                "Can you check where it is?",
            ),
        ],
    },
    "lapse": {
        "da": [
            (
                "Ophold i udlandet og bortfald",
                "Jeg skal passe min syge far i Tyrkiet i otte måneder. Bortfalder min "
                "opholdstilladelse, og kan jeg søge dispensation?",
            ),
        ],
        "en": [
            (
                "Re-entry permit while my case is pending",
                "My extension case is still pending and I must travel to my sister's wedding. Do "
                "I need a re-entry permit to come back?",
            ),
        ],
    },
    "asylum": {
        "da": [
            (
                "Spørgsmål om asylsamtale",
                "Jeg er indkaldt til asylsamtale i næste uge. Må jeg tage min advokat med, og får "
                "jeg en tolk?",
            ),
        ],
        "en": [
            (
                "Asylum decision - what happens now",
                "I received a refusal of my asylum application. Is it sent to the Refugee Appeals "
                "Board automatically, and may I stay at the centre meanwhile?",
            ),
        ],
    },
    "appeal": {
        "da": [
            (
                "Klage over afgørelse",
                "Jeg vil klage over afslaget på min ansøgning. Hvor skal klagen sendes hen, og "
                "hvad er fristen?",
            ),
        ],
        "en": [
            (
                "Complaint about case processing time",
                "My case has been pending for 14 months without any news. I want to complain "
                "about how long this takes.",
            ),
        ],
    },
    "general": {
        "da": [
            ("Åbningstider", "Hvornår har jeres servicecenter åbent på torsdag?"),
            (
                "Betaling af gebyr",
                "Jeg har betalt gebyret to gange ved en fejl. Hvordan får jeg pengene tilbage?",
            ),
        ],
        "en": [
            ("Opening hours", "What are the opening hours of your phone line on Fridays?"),
            ("Thank you", "Thank you for your kind help on the phone yesterday."),
        ],
    },
}

# For a case type no text above was written for (another agency's): {name} is the agency's
# name of it, in the mail's language.
_ABOUT = {
    "da": [
        (
            "Spørgsmål om {name}",
            "Jeg har et spørgsmål om {name}. Hvad skal jeg gøre, og hvilke papirer skal jeg "
            "have med?",
        ),
        (
            "{name}: hvornår hører jeg fra jer?",
            "Jeg skrev til jer om {name} for tre uger siden og har ikke hørt noget. Hvornår "
            "kan jeg forvente et svar?",
        ),
        (
            "Hjælp til {name}",
            "Jeg kan ikke finde ud af, hvad jeg skal gøre om {name} på jeres hjemmeside. Kan I "
            "skrive, hvordan jeg kommer videre, eller skal jeg komme forbi?",
        ),
    ],
    "en": [
        (
            "Question about {name}",
            "I have a question about {name}. What do I need to do, and which papers should I "
            "bring?",
        ),
        (
            "{name}: when will I hear from you?",
            "I wrote to you about {name} three weeks ago and have heard nothing. When can I "
            "expect an answer?",
        ),
        (
            "Help with {name}",
            "I cannot work out from your website what to do about {name}. Could you tell me "
            "how to go on, or should I come by?",
        ),
    ],
}
_OPEN = {
    "da": ["Hej", "Til rette vedkommende", "Goddag"],
    "en": ["Hello", "Dear Sir or Madam", "Hi"],
}
_CLOSE = {
    "da": ["Venlig hilsen", "Mvh.", "På forhånd tak"],
    "en": ["Kind regards", "Best wishes", "Thank you"],
}
_NAMES = ["Amal", "Jonas", "Priya", "Mette", "Ahmed", "Sofia", "Lars", "Nguyen", "Fatima", "Ole"]
_ANSWER = {
    "da": "Tak for din henvendelse.\n\nDu finder svaret og de blanketter, du skal bruge, på "
    "vores hjemmeside. Skriv igen, hvis du har flere spørgsmål.",
    "en": "Thank you for your message.\n\nYou will find the answer and the forms you need on "
    "our website. Write again if you have more questions.",
}


def mail(
    rng: random.Random, case_type: str, language: str, name: str | None = None
) -> tuple[str, str]:
    """A client's e-mail (subject, text) about the case type, in the language: one written
    for it; for a case type none was written for, a plain question naming it by `name` (the
    agency's name of it in the language), or without a name a general one."""
    if case_type in MAILS:
        subject, body = rng.choice(MAILS[case_type][language])
    elif name:
        subject, body = (part.format(name=name) for part in rng.choice(_ABOUT[language]))
    else:
        subject, body = rng.choice(MAILS["general"][language])
    text = f"{rng.choice(_OPEN[language])}\n\n{body}\n\n{rng.choice(_CLOSE[language])}\n"
    return subject, text + rng.choice(_NAMES)


def answer(language: str) -> str:
    return _ANSWER.get(language, _ANSWER["da"])
