"""Drug supply and gang rivalry recognised from their structure, like threats in ``grammar.py``.

Why: an advert for drugs is an OFFER or a PRICE next to a DRUG ("Hash £25 an 8th", "Cali
deliveries until midnight, snap me"), and recruitment is a REQUEST for people, a drug JOB and a
PAYMENT ("need 2 more runners, cash daily"); a territorial claim says a PLACE BELONGS to a group
("Hollow Lane is ours"), a taunt mocks rivals for RUNNING or HIDING, and victim mockery LAUGHS at
a rival's injury. None of these needs a listed slang phrase, so they are matched as small parts
that combine freely. Each part alone is everyday speech (selling a bike for £50, "the green" of
a golf course, a running club wanting runners); only the combination counts.

Runs on the normalised text (``normalise.py``) and returns ``StructureHit``\\ s (rule ids
``ds.grammar.*`` and ``ga.grammar.*``) that ``rules.py`` scores and explains like lexicon hits;
context rules (news, prevention, fiction) still lower them, and the negation and quotation checks
of ``grammar.py`` still drop them. Pure regexes: no model, nothing downloaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from socialhub.classify.fastre import Gated, compile_folded, union

if TYPE_CHECKING:
    from socialhub.classify.anchors import Anchor
    from socialhub.classify.normalise import NormalisedText

__all__ = ["STRUCTURE_RULES", "StructureHit", "scan", "weapon_named"]

# ------------------------------------------------------------------------------------ drugs
# Drug names and units that are rarely anything else ...
_DRUG = (r"(?:loud|gas|za|exotic|zaza)\s+packs?|weed|(?<!thanks\s)(?<!thank\s)(?<!cheers\s)(?<!ta\s)(?<!hey\s)(?<!night\s)(?<!taste\s)(?<!my\s)bud|buds|kush|skunk|haze|gelato|runtz|zaza|exotics?|cali|hash|resin|coke|cocaine|c\*ke|crack|ket|"
         r"ketamine|mdma|mandy|pills|pingers|xans|xanax|oxys?|oxycontin|percs?|percocets?|lean|codeine|acid\s+tabs|"
         r"tabs|lsd|shrooms|mushies|heroin|smack|spice|sniff|charlie|snow|zoots?|spliffs?|edibles|carts|thc|"
         r"bars|molly|grass|green|white|brown|rock|rocks|bits|work|food|pack|packs|stash|zips?|the\s+good\s+stuff|flake|"
         r"powder")
# ... and those that are drugs only with a supply frame around them (green, white, food, work).
_AMBIGUOUS = {"green", "white", "brown", "rock", "rocks", "bits", "work", "food", "pack", "packs", "stash", "grass",
              "snow", "bars", "tabs", "spice", "charlie", "lean", "zip", "zips", "carts", "the good stuff", "flake",
              "powder"}
_PRICE = (r"(?:£|\$)\s*\d+|\d+\s*(?:£|quid|bucks)|\d+\s*(?:a|per|an|/)\s*(?:g|gram|8th|eighth|q|oz|bag|pop)\b|"
          r"\d+\s+for\s+(?:£|\$)?\s*\d+|\d+\s+each|\d+\s*(?:g|grams?)\b|\d+\.\d+s?\b|(?:an?\s+)?(?:8th|eighth|q|oz|ounce|"
          r"half\s+o|nine\s*bar|9\s*bar)")
_OFFER = (r"selling|sellin|sell|got|have|delivering|delivered|delivery|deliveries|dropping|drops|drop|in\s+stock|"
          r"available|on\s+deck|for\s+sale|text\s+(?:me\s+)?for|hit\s+my\s+line|hit\s+me\s+up|tap\s+in|dm|dms|hmu|"
          r"snap\s+me|pull\s+up|come\s+get|menu|prices?|order|orders|shift|shifting|serving|servin|plug|line\s+(?:active|open|on)")
# After the drug ("cali deliveries until midnight, snap me"): no "got"/"have", which follow anything.
_OFFER_AFTER = (r"delivered|delivery|deliveries|dropping|drops|in\s+stock|available|on\s+deck|for\s+sale|dm|dms|hmu|"
                r"snap\s+me|tap\s+in|hit\s+my\s+line|hit\s+me\s+up|menu|prices?|come\s+get|line\s+(?:active|open|on)")
#: An ambiguous drug word followed by a noun is an adjective ("white trainers", "green jacket").
_ADJECTIVE_USE = re.compile(r"(?:\s+(?:and|&|n|or)\s+\w+)*\s+(?!(?:only|and|n|an|or|for|in|on|tonight|today|now|available|delivered|dm|hmu|in|"
                            r"deals?|bags?|packs?|prices?|menu|drops?|line|ready|landed|x|each|anywhere|everywhere|around|round|till|until|"
                            r"from|just|all|same|here|there|back|too|also|still|left|white|green|brown|pink|blue|rock|bud|weed|food|"
                            r"prices?|bio)\b)[a-z]{3,}\b")
_STRONG_OFFER = re.compile(r"selling|sellin|shotting|serving|for\s+sale|in\s+stock|text\s+for|dm\s+for")
_RECRUIT = (r"need|needs|needed|looking\s+for|hiring|wanted|want\s+to\s+earn|wanna\s+earn|tryna|who\s+wanna|who\s+wants|"
            r"any\s+(?:of\s+the\s+)?\w+\s+(?:want|wanna|tryna)|slots?\s+open|earn|dm\s+if")
_JOB = (r"hold\s+(?:the\s+|a\s+)?(?:line|phone|bit|stash|work|white|brown|bag)|run\s+(?:the\s+|a\s+)?(?:line|lines|parcels|bits)|"
        r"runners?|shotters?|go\s+(?:country|county|cunch|ot)|going\s+(?:country|county|cunch|ot)|trap(?:ping)?\s+from|"
        r"front\s+the\s+work|sell\s+for\s+me|carry\s+the\s+work|bagging\s+up|bag\s+up|shift\s+from|drop(?:ping)?\s+(?:the\s+)?"
        r"(?:green|white|pills|bits|food|parcels)|parcels\s+of\s+food|hold\s+the\s+stash|use\s+their\s+flat|"
        r"youngers?|young\s+ones?|kids\s+on\s+bikes|drivers?\s+to\s+drop")
_PAY = (r"cash|£\s*\d+|£|\$\s*\d+|money|pay|pays|paying|paid|earn|cut|%|wage|daily|weekly|a\s+week|an\s+hour|p|"
        r"slots?\s+(?:open|left|available)|spaces?\s+(?:open|left|available)")
#: Recruitment that starts from the money ("want money? need kids on bikes to run parcels").
_EARN = r"(?:want|wanna|tryna|need|make|making|earn)\s+(?:some\s+|quick\s+|easy\s+|real\s+)?(?:money|cash|p|bread|paper)|(?:want|wanna|tryna)\s+(?:to\s+)?earn"

# ------------------------------------------------------------------------------------ weapons
_WEAPON = (r"knife|knives|blades?|shanks?|bora|nank|ching|skengs?|machetes?|rambo|zombie\s+knife|switchblades?|"
           r"flick\s+knives?|butterfly\s+knives?|daggers?|swords?|katanas?|guns?|pistols?|glocks?|straps?|burners?|"
           r"waps?|dracos?|uzis?|ak\s*47s?|revolvers?|rifles?|shotty|shotguns?|ammo|bullets|shells|extendos?|"
           r"blick(?:y|ies|s)?|glizz(?:y|ies|ys)|choppas?|pole|fye|pumpy|9\s*mil|9mm|the\s+9|the\s+nine|"
           r"tasers?|crossbows?|knuckle\s*dusters?|blank\s+firers?|converted\s+(?:blanks?|firers?|pistols?)|buck(?:y|ies)|matics?|"
           r"10\s*inch(?:es|s)?|ten\s+inch(?:es|s)?|zombie\s+knifes?|(?:flick|butterfly|lock|combat)\s+knifes|machetes|boras|nanks|chings|"
           r"rambos|pumpy|(?:the|my|a)\s+piece(?!\s+of\b)")

# ------------------------------------------------------------------------------------ gangs
_GROUP = (r"(?:the\s+)?(?:[a-z0-9]+\s+){0,2}(?:boys|gang|crew|lot|set|youngers|mandem|bloc?ks?|gs|squad|firm|side|"
          r"yutes|mob|clique|team\s+\w+)")
_PLACE = r"(?:ends|estate|block|side|streets|road|manor|land|turf|territory|area|flats|postcode|zone|river|lane|strip)"


@dataclass(frozen=True, slots=True)
class StructureRule:
    id: str
    category: str
    weight: float
    label: str
    rx: Gated                     # the rule's regex, with a faster twin in front (``fastre``)


@dataclass(frozen=True, slots=True)
class StructureHit:
    """One structural match in the NORMALISED text: ``[start, end)`` into ``text``."""

    rule: str
    category: str
    start: int
    end: int
    weight: float
    term: str


def _r(rule_id: str, category: str, weight: float, label: str, src: str) -> StructureRule:
    return StructureRule(rule_id, category, weight, label, Gated(r"(?<![^\W_])(?:" + src + r")(?![^\W_])"))


_NEAR = r"(?:[\s,.:;!-]+[^\s.!?]*){0,6}?[\s,.:;!-]+"       # up to 6 words, same sentence

STRUCTURE_RULES: tuple[StructureRule, ...] = (
    _r("wp.grammar.carry", "weapon", 0.6, "says a weapon is carried",
       r"(?:tooled|strapped|armed)\s+up|stay(?:ing|s)?\s+strapped|"
       r"(?:never|not|don'?t\s+(?:leave|go)\s+(?:\w+\s+){0,2}?)\s*without\s+(?:my|the|a|me)\s+(?:\w+\s+)?(?P<w>" + _WEAPON + r")|"
       r"(?:with|got)\s+(?:the|my|a|da)\s+(?P<w2>" + _WEAPON + r")\s+on\s+(?:me|him|us|my\s+(?:hip|waist|person))|"
       r"(?P<w3>" + _WEAPON + r")\s+(?:is|'s)\s+so\s+light(?:\W+\w+){0,4}?\W+(?:even|always|still)\s+on\s+(?:u|you|me|ya)\b|"
       r"(?:never|don'?t)\s+leave\s+the\s+(?:house|yard|ends)\s+without\s+(?:the|my|a)\s+(?P<w4>" + _WEAPON + r")"),
    _r("wp.grammar.trade", "weapon", 0.6, "a weapon bought, sold or swapped",
       r"(?:sell\w*|buy\w*|tryna\s+(?:buy|get|cop)|cop|swap\w*|trade|who'?s\s+selling|who\s+got|get\s+rid\s+of|go\s+halves\s+on|"
       r"need\s+(?:a|an|another)(?=\s+\S+(?:\s+\S+)?\s+(?:for\s+(?:tmrw|tomorrow|tonight|the\s+weekend|later)|asap|who\s+"
       r"(?:can|got|has|wants)|sort\s+me))|got\s+(?:a|an)\s+(?=\S+\s+off\s+(?:a|some)\s+(?:guy|man|bloke|yute|lad))|"
       r"in\s+stock|for\s+sale|for\s+price|offers)" + _NEAR + r"(?:a\s+|the\s+|some\s+|my\s+)?(?P<w>" + _WEAPON + r")"
       r"|(?P<w2>" + _WEAPON + r")" + _NEAR + r"(?:for\s+sale|in\s+stock|dm\s+for\s+price|serious\s+offers|going\s+cheap|"
       r"as\s+well,?\s+ask)"),
    _r("wp.grammar.display", "weapon", 0.55, "shows off a weapon",
       r"(?:\d+|bare|loads\s+of)\s+(?:\w+\s+)?(?P<w2>" + _WEAPON + r")\s+in\s+my\s+(?:room|drawer|wardrobe|loft|garage|car|bag)|"
       r"(?:feel\s+of|polished(?:\s+up)?|cleaned(?:\s+up)?|cleaning|loaded|cocked|say\s+hello\s+to|real)\s+(?:the\s+|my\s+|this\s+|"
       r"a\s+(?:cold\s+)?|a\s+)?(?P<w>" + _WEAPON + r")"),
    _r("ds.grammar.price", "drug_supply", 0.7, "a drug with a price or a dealing quantity",
       r"(?P<drug>" + _DRUG + r")" + _NEAR + r"(?:" + _PRICE + r")|(?:" + _PRICE + r")" + _NEAR + r"(?:on\s+|of\s+)?"
       r"(?:the\s+)?(?P<drug2>" + _DRUG + r")|(?:\d+\.\d+s?|\d+\s*(?:g|grams?)|8ths?|eighths?|ozs?|zips?|q'?s)\s+(?:for|@|at)?\s*"
       r"(?:£|\$)\s*\d+"),
    _r("ds.grammar.offer", "drug_supply", 0.65, "a drug offered or delivered",
       r"(?:" + _OFFER + r")" + _NEAR + r"(?:the\s+|a\s+bit\s+of\s+|some\s+|them\s+|da\s+)?(?P<drug>" + _DRUG + r")"
       r"|(?P<drug2>" + _DRUG + r")" + _NEAR + r"(?:" + _OFFER_AFTER + r")"),
    _r("ds.grammar.recruit", "drug_supply", 0.7, "people recruited for drug work for pay",
       r"(?:" + _RECRUIT + r")(?:[\s,.:;!?()-]+[^\s.!]*){0,14}?[\s,.:;!?()-]+(?P<job>" + _JOB + r")"
       r"(?:[\s,.:;!?()-]+[^\s.!]*){0,14}?[\s,.:;!?()-]*(?:" + _PAY + r")"
       r"|(?:" + _EARN + r")(?:[\s,.:;!?()+-]+[^\s.!]*){0,10}?[\s,.:;!?()-]+(?P<job2>" + _JOB + r")"
       r"|(?:go|going|run|running|do)\s+(?:country|county|cunch|ot)\s+for\s+(?:me|us|the\s+\w+)"),
    _r("ds.grammar.ask", "drug_supply", 0.6, "asks who wants a drug, with an offer to deliver",
       r"(?:anyone|any1|anybody|who|who'?s|whos)\s+(?:\w+\s+){0,3}?(?:need|needs|want|wants|wanna|after)\s+"
       r"(?:a\s+bit\s+of\s+|some\s+|any\s+|a\s+lil\s+)?(?P<drug>" + _DRUG + r")(?=\W+(?:\w+\W+){0,8}?(?:driving|"
       r"pull\s+up|pulling\s+up|dropping|drop|deliver\w*|out\s+now|on\s+(?:road|the\s+road)|round\s+now|hmu|dm|"
       r"line|text|snap))"),
    _r("ds.grammar.line", "drug_supply", 0.6, "a named dealing line open for orders",
       r"runners?\s+(?:is\s+)?on\s+(?:his|her|their|the|its)\s+way\s+(?:\w+\s+){0,2}?with\s+(?:your|ur|the)\s+"
       r"(?:bits|food|pack|order|ting|stuff|parcel)|\w+\s+line\s+(?:is\s+)?(?:active|open|out\s+now|live|running)|(?:night|day)\s+shift\s+on\s+the\s+line"),
    _r("ga.grammar.ours", "gang_affiliation", 0.55, "claims a place for a group",
       r"(?:is|are|'s|=)\s+(?:all\s+)?(?:ours|our\s+(?:land|turf|ends|territory|manor|block|side|streets|estate)|"
       r"(?:[a-z0-9]+\s+){1,2}(?:territory|land|turf))"
       r"|belongs?\s+to\s+(?:us|" + _GROUP + r")|(?:we|i)\s+took\s+(?:em|them|dem|it)\s+back|"
       r"(?:owns?|running|runs|controls?)\s+(?:these|this|the|our|that)\s+" + _PLACE +
       r"|(?:you'?re|ur|you\s+are)\s+in\s+(?:[a-z0-9]+\s+){1,2}(?:land|territory|turf|ends)|know\s+your\s+place|"
       r"act\s+accordingly|get\s+a\s+pass|trespassing|flag\s+planted|ends\s+claimed|our\s+land|"
       r"(?:our|my)\s+(?:youngers|olders|mandem|gang|crew|set)\s+(?:run|runs|own|owns|control|controls|hold|"
       r"holds|took\s+over|run\s+things\s+in)\s+\w+|(?:is|are|'s)\s+our\s+(?:market|patch|area|manor|turf|ends|block|territory)|"
       r"(?:we|i)\s+(?:own|run|control)\s+(?:everything|all|every\s+street|every\s+road)\s+(?:from|between)|"
       r"(?:that|their|the\s+other)\s+side'?s?\s+(?:is\s+)?full\s+of\s+(?:rats|snakes|opps|pussies|neeks|cowards|snitches)|"
       r"(?:nobody|no\s+one|nothing)\s+(?:moves|happens|sells|shots|deals|eats)\s+(?:in|on|round|around)\s+our\s+\w+\s+without|"
       r"(?:strapped|tooled|armed)\W+(?:\S+\s+){0,3}?on\s+every\s+(?:single\s+)?one\s+of\s+us|"
       r"(?:this|that)\s+(?:whole\s+)?(?:block|side|estate|road|strip)(?:\s+(?:of\s+\w+(?:\s+\w+)?))?\s+(?:is\s+)?ours"),
    _r("ga.grammar.taunt", "gang_affiliation", 0.55, "mocks a rival group as scared",
       r"(?:ducking|duckin|dodging|hiding\s+from|running\s+from|ran\s+from|ran\s+when|scared\s+of|shook\s+of)\s+"
       r"(?:us|we|the\s+\w+|their\s+own|em|dem)|(?:ain'?t|never|didn'?t|don'?t)\s+(?:ever\s+)?(?:spun|spin|slid|slide|rode|ride)"
       r"\s+back|didn'?t\s+even\s+(?:spin|slide|ride|come)\s+back|(?:crying|cry)\s+(?:crew|more|on\s+live)|mummy'?s\s+boys|keep\s+ducking|"
       + _GROUP + r"\s+(?:are|is|r)\s+(?:a\s+|just\s+)?(?:joke|jokes|yutes|pussies|pussy|dickheads|clowns|bitches|"
       r"scared|shook|mugs|wastemen|neeks|bunch\s+of\s+\w+)|" + _GROUP + r"\s+a\s+bunch\s+of\s+\w+|more\s+like\s+\w+\s+crying"),
    _r("ga.grammar.fled", "gang_affiliation", 0.55, "mocks rivals for running, hiding or crying",
       r"(?:ran|run\s+off|running\s+off|legged\s+it|cried|crying|hid|hiding|went\s+(?:dead|quiet|missing|silent|private)|"
       r"deleted\s+(?:their|his|her)\s+\w+|lost\s+(?:a|his|their)\s+(?:shoe|trainer|creps|phone)|can'?t\s+even\s+post|"
       r"bottled\s+it|dropped\s+(?:his|their)\s+(?:phone|shoe|bag|ting))(?!\s+(?:out|a\s+race|the\s+\w+\s+race|"
       r"for\s+(?:mayor|office|election)))"),
    _r("ga.grammar.mock_victim", "gang_affiliation", 0.6, "laughs at a rival's injury or death",
       r"(?:\d+\s+of\s+theirs|stab\s+race|score\s*board\s+don'?t\s+lie|respect\s+to\s+nobody|"
       r"too\s+late\s+for\s+(?:her|his|their)\s+(?:yute|son|boy|bro)|scores?\s+on\s+the\s+doors|"
       r"us\s+\d+\s*,?\s*(?:them|they|dem)\s+\d+)"
       r"|(?:memorial|funeral|vigil|rip\s+post)(?:\s+\S+){0,10}?\s+(?:for\s+jokes|lmao|lmfao|😂)"
       r"|(?:their|ur|your|his)\s+(?:\w+\s+){0,3}?(?:memorial|funeral|vigil|grave|leg|bro'?s\s+leg)(?:\s+\w+){0,8}?\s+"
       r"(?:cry\s+more|oh\s+wait|for\s+jokes|still\s+limping|lmao|lol|😂)"
       r"|(?:their|ur|your|his)\s+(?:top\s+)?(?:man|boy|bro|guy|yute|brother|cousin|boys|mans)(?:'s)?\s+(?:\w+\s+){0,4}?"
       r"(?:wheelchair|limping|leg|got\s+(?:wet|shot|stabbed|touched|dipped|bodied|splashed|bored|poked)|"
       r"grave|bleeding|chain)"),
)

_UNIT = re.compile(r"\d+\s*(?:a|per|an|/)?\s*(?:g|grams?|8th|eighth|q|oz|ounce|bag)\b|8th|eighth|\boz\b|ounce|"
                   r"nine\s*bar|9\s*bar|half\s+o\b|\d+\.\d+s?\b|\d+\s+for\s+(?:£|\$)?\s*\d+")

_LEGIT_JOB = re.compile(r"\b(?:film|tv|production|set|shoot|event|events|office|running\s+club|race|marathon|charity|"
                        r"festival|warehouse|restaurant|cafe|retail|apprentice\w*|internship)\b")

#: Victim mockery needs laughter or a jibe somewhere in the post; a memorial post does not.
_MOCKERY = re.compile(r"lmao|lmfao|lol|haha|😂|😭|emoji_skull|💀|jokes|cry|crying|can'?t\s+run|bet\s+he|still|"
                      r"oh\s+wait|respect\s+to\s+nobody|on\s+my\s+neck|keep\s+up|don'?t\s+lie|too\s+late")


#: Who the fled-taunt must be about: a rival gang, set, youngers or a named "lot" (not a sports team).
_RIVAL = re.compile(r"(?<![^\W_])(?:(?:their|dem|the\s+other|that)\s+(?:whole\s+)?(?:gang|set|youngers|olders|mandem|crew|block|"
                    r"side|lot|bloc)|one\s+of\s+(?:their|the\s+\w+|dem)\s+(?:youngers|olders|lot|mandem|boys|gang|crew|set)|"
                    r"the\s+(?!whole|same|first|last|other|entire)\w+\s+lot|opps?|oppz|gangsters?|gangstas?|rivals?)(?![^\W_])")
#: ... with a jibe in the same post.
_JIBE = re.compile(r"lmao|lmfao|\blol\b|haha|😂|😭|🤣|emoji_skull|💀|embarrassing|thought\s+they\s+(?:was|were)|so\s+fast|"
                   r"can'?t\s+even|pussy|pussies|shook|cowards?|scared|dickheads|clowns|jokes|funniest|"
                   r"nobody\s+was\s+there|where\s+(?:u|you|they)\s+at")


#: Every drug rule needs one of these words, every gang rule one of those: a text with neither is
#: skipped without running the rules (tests/classify/test_classify_structures.py checks it on
#: every written case). Most posts have none, which keeps this module cheap.
def _words(src: str, extra: str = "") -> re.Pattern[str]:
    """Any of the words in ``src`` (an alternation, folded into a trie: ~10x faster, same texts pass)."""
    return compile_folded(r"(?<![^\W_])", src, r"(?![^\W_])" + extra)


_NEEDS = {
    "drug_supply": _words(_DRUG + "|" + _JOB + r"|line|8th|eighth|oz|ounce|half|nine|9|country|county|cunch|ot|runners?",
                          r"|£|\$"),
    "weapon": _words(_WEAPON + r"|tooled|strapped|armed"),
    "gang_affiliation": _words(
        r"ours|belongs?|took|owns?|running|runs|controls?|land|territory|turf|place|accordingly|pass|"
        r"trespassing|flag|claimed|ducking|duckin|dodging|hiding|ran|scared|shook|spun|spin|slid|slide|rode|ride|"
        r"crying|cry|mummy'?s|joke|jokes|yutes|pussies|pussy|dickheads|clowns|bitches|mugs|wastemen|neeks|bunch|"
        r"theirs|race|scoreboard|score|respect|late|memorial|funeral|vigil|grave|leg|wheelchair|limping|bleeding|"
        r"chain|got|even|doors|us|for|ends|estate|block|blocks|side|streets|road|manor|area|flats|postcode|zone|river|lane|strip|"
        r"boys|gang|crew|lot|set|youngers|mandem|gs|squad|firm|mob|clique|team|act|know|ran|run|legged|cried|hid|went|"
        r"market|patch|everything|full|nobody|nothing|strapped|tooled|armed|"
        r"deleted|lost|bottled|dropped"),
}


def scan(text: str) -> list[StructureHit]:
    """Every drug-supply and gang structure in ``text`` (already normalised)."""
    hits: list[StructureHit] = []
    wanted = {c for c, rx in _NEEDS.items() if rx.search(text) and _ANY_RULE[c].search(text)}
    if not wanted:
        return hits
    for rule in STRUCTURE_RULES:
        if rule.category not in wanted:
            continue
        for m in rule.rx.finditer(text):
            groups = m.groupdict()
            drug = groups.get("drug") or groups.get("drug2")
            if drug and drug in _AMBIGUOUS and _ADJECTIVE_USE.match(text, m.end("drug" if groups.get("drug") else "drug2")):
                continue                          # "white and brown trainers for sale": colours, not drugs
            if drug and drug in _AMBIGUOUS and rule.id == "ds.grammar.offer" and not re.search(
                    r"(?:the|da|a\s+bit\s+of|some)\s+" + re.escape(drug), m.group(0)) and not _STRONG_OFFER.search(m.group(0)):
                continue                          # "got the green" counts; "i have work" does not
            if drug and drug in _AMBIGUOUS and rule.id == "ds.grammar.price" and not _UNIT.search(
                    text[m.start():m.end() + 8]):
                continue                          # "grass cutting, £20 per garden": a price, but no dealing unit
            if rule.id == "ds.grammar.recruit" and _LEGIT_JOB.search(text):
                continue                          # "hiring a runner for our film set, £100/day"
            if rule.id == "ga.grammar.mock_victim" and not _MOCKERY.search(text):
                continue
            if rule.id == "ga.grammar.fled" and not (_RIVAL.search(text) and _JIBE.search(text)):
                continue                          # "he ran so fast" is a taunt only about rivals, with a jibe
            if rule.id == "ds.grammar.ask" and drug in _AMBIGUOUS | {"coke", "green", "snow"}:
                continue                          # "anyone want some coke?": a drink
            hits.append(StructureHit(rule.id, rule.category, m.start(), m.end(), rule.weight,
                                     f"{rule.label}: {re.sub(r'[ ]+', ' ', m.group(0))[:60]}"))
    return hits


#: one folded search per category for all its rules: the gang words include everyday ones ("got",
#: "for", "us"), so most chatter passes ``_NEEDS`` and would otherwise run every rule for nothing
_ANY_RULE = {c: union([r.rx.pattern for r in STRUCTURE_RULES if r.category == c]) for c in _NEEDS}

# In a threat, everyday objects named as the means are weapons too ("with a baseball bat").
_WEAPON_RX = re.compile(r"(?<![^\W_])(?:" + _WEAPON + r"|hammers?|baseball\s+bats?|bats?|crowbars?|axes?|hatchets?|"
                        r"cleavers?|screwdrivers?|pump|crossbow\s+bolts?|bricks?|bottles?|iron\s+bars?|poles?|(?:the|my|dat)\s+ting|"
                        r"matic|sawn\s+off|piece)(?![^\W_])")


def weapon_named(norm: NormalisedText) -> Anchor | None:
    """The first weapon NAMED in a post (a noun: "knife", "the 9", "glizzy"), as an anchor into the
    original text; not a decorative 🔪, not the act ("getting chinged") and not acid, which the
    labelling guide leaves to the threat (docs/detection.md section 3)."""
    from socialhub.classify.anchors import first_in_views

    return first_in_views(_WEAPON_RX, norm, "weapon")
