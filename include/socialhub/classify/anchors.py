"""Category anchors: the words a statistical label must rest on.

Why: the character n-gram model generalises from labelled posts, but on its own it also labels
posts that contain nothing an officer could point to ("Toot number 9!" as a threat, "new
trainers came, clean" as a weapon, "lucky monkey"): it weighs letter shapes, not meaning. On
real tweets nearly all of its false alarms had no word of the category at all. So the model may
put a category on a post only when the post contains at least one ANCHOR of that category: a
word of violence for ``violence_threat`` (kill, stab, shoot, bleed, dead, bullet, ...), a weapon
for ``weapon``, a word of gang rivalry or territory for ``gang_affiliation``, a drug, a supply
word or a price for ``drug_supply``. The anchor is quoted in the reasons (rule
``anchor.<category>``), so every label cites a word of its own category.

Anchors are deliberately broad (they decide only whether the model MAY label, not whether it
does; the model and its threshold still decide) and they never add score. The rules' and the
threat grammar's own labels do not need an anchor: they are evidence already.

A post without any anchor at all skips the model (and the threat grammar, whose every rule
needs a violent word, see ``THREAT_GRAMMAR_NEEDS`` in rules.py): most posts are everyday chatter,
so this is also what makes the layer fast.

Matched against the normalised views (``normalise.py``), so ``k.i.l.l``, ``k1ll``, ``кill`` and
emoji tokens count; word-bounded at the start, and at the end unless the stem allows endings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from socialhub.classify import grammar
from socialhub.classify.fastre import Gated, compile_folded
from socialhub.classify.normalise import NormalisedText

__all__ = ["AMBIGUOUS_WEAPON", "ANCHOR_SOURCES", "Anchor", "find_anchors", "first_in_views", "only_negated"]

# Stems take any word ending (kill -> kills, killed, killer, killing); "=" marks an exact word.
ANCHOR_SOURCES: dict[str, str] = {
    "violence_threat": (
        r"kill\w*|kil|murder\w*|murk\w*|merk\w*|stab\w*|shank\w*|shoot\w*(?!\s+(?:my|your|his|her|their|our|a)\s+shot|\s+hoops|\s+(?:a|the|some)\s+"
        r"(?:photos?|video|pics?|film|scene))|(?<!my\s)(?<!your\s)(?<!his\s)(?<!her\s)(?<!our\s)(?<!their\s)shots?|slit\w*|behead\w*|lynch\w*|"
        r"strangl\w*|tortur\w*|execut\w*|exterminat\w*|slaughter\w*|butcher\w*|massacr\w*|rape\w*|raping|"
        r"wet|wetted|wetting|ching\w*|juk\w*|jook\w*|knife|knifed|knives|blade\w*|drown\w*|poison\w*|burn\w*|"
        r"torch\w*|bomb\w*|blow\w*|blew|(?:hang|hanging|hung)(?!\s+(?:out|around|about|round|up|on))|hanged|noose|rope|beat|beats|beaten|beating|batter\w*|"
        r"smash\w*|stomp\w*|stamp\w*|glass|glassed|bottled|acid|bleach|splash\w*|dip|dipped|dipping|chef\w*|"
        r"duppy|duppied|dead|deadly|die|dies|died|dying|death|deaths|grave|graves|coffin\w*|body|bodies|"
        r"bodied|bodybag\w*|bury|buried|wipe|wiped|eliminat\w*|eradicat\w*|cull\w*|cut|cuts|cutting|"
        r"slash\w*|slice\w*|chop\w*|chok\w*|suffocat\w*|hurt\w*|harm\w*|maim\w*|break|broke|broken|snap\w*|"
        r"hack\w*|gas|gassed|gassing|pop|popped|popping|cap|capped|spray\w*|riddl\w*|fuck\s+(?:up|you|him|her|them)|"
        r"fucked\s+up|mess\s+(?:you|him|them|her)\s+up|jump\w*|attack\w*|assault\w*|punch\w*|kick\w*|slap\w*|"
        r"hit|hits|hitting|fight\w*|deck|decked|bang|banged|violat\w*|blood\w*|bleed\w*|bled|bullet\w*|gun\w*|"
        r"strap\w*|opps?|smoke|smoked|blast\w*|clap|clapped|clapping|bun|bunned|bore|bored|skeng\w*|blick\w*|"
        r"sight|lacking|lackin|slipping|slippin|watch\s+(?:your|ur|ya|yo)\s+back(?![\s,]+(?:ur|your|ya|yo|the)\s+(?:bag|zip|"
        r"pocket|phone|wallet|purse|coat|jacket|top|shirt|label|tag)|\s+(?:when|while)\s+(?:lifting|squatting|training))|where\s+(?:you|u|he|she|they)\s+"
        r"(?:live|lives|sleep|stay)|numbered|goner|body\s*bag|six\s+feet|6\s+(?:feet|foot|ft)|hospital|wheelchair|"
        r"stitches|throat\w*|skull\w*|kneecap\w*|jugular|war|wars|ambush\w*|hunt\w*|revenge|payback|avenge\w*|"
        r"violence|violent|destroy\w*|ruin|annihilat\w*|obliterat\w*|nuke\w*|genocid\w*|purge|holocaust|"
        r"deport\w*|ovens?|crucif\w*|whip\w*|lash\w*|stone|stoned|stoning|castrat\w*|gut|gutted|skin|skinned|"
        r"pain|suffer\w*|wound\w*|injur\w*|poke|poked|poking|head|heads|box|undertaker|funeral|"
        r"open\w*\s+(?:\w+\s+)?up|light\w*\s+(?:\w+\s+)?up|lit\s+(?:\w+\s+)?up|done|do\s+(?:u|you|him|her|them|dem)\s+in|"
        r"example|shut|alone|teach|lesson|pay|regret|sorry|touch\w*|emoji_(?:knife|dagger|swords|gun|bomb|"
        r"explosion|blood|coffin|ambulance|skull)"
    ),
    "weapon": (
        r"knife|knives|knifed|knifes|blade\w*|shank\w*|pump\w*|glizz\w*|chopp\w*|dracos?|beam|"
        r"bora\w*|nank\w*|ching\w*|skeng\w*|machete\w*|rambo\w*|"
        r"zombie|switchblade\w*|balisong|dagger\w*|sword\w*|katana\w*|axe|axes|hatchet\w*|cleaver\w*|"
        r"gun|guns|gunn\w*|gunman|gunmen|pistol\w*|handgun\w*|glock\w*|strap|strapped|straps|burner\w*|wap|waps|"
        r"mash|ting|tings|piece|tool|tools|nine|9mm|draco|drac|uzi|ak|ak47|mac|tec|ar15|mp5|revolver\w*|"
        r"rifle\w*|shotty|shotgun\w*|sawn|sawed|ammo|bullet\w*|rounds?|shells?|clip|mag|extendo\w*|blick\w*|"
        r"chopper\w*|pole|heat|taser\w*|stun|crossbow\w*|baton\w*|knuckle\w*|nunchuck\w*|pepper\s+spray|"
        r"cs\s+spray|acid|bat|bats|hammer\w*|weapon\w*|armed|carry\w*|carrie\w*|tooled|emoji_(?:knife|dagger|"
        r"swords|gun|bomb)"
    ),
    "gang_affiliation": (
        r"opp\w*|ends|block|blocks|postcode\w*|gang\w*|set|sets|hood|hoods|crew\w*|estate\w*|manor|turf|"
        r"territor\w*|zone\w*|scoreboard|score|scores|rip|memorial|vigil|shirt|t\s*shirt|"
        r"free\s+(?:the|my|all|\w+)|smoke|ride|riding|rode|slide|sliding|spin|spun|drill\w*|diss\w*|beef|war|wars|"
        r"rival\w*|youngers?|olders?|youngin\w*|shooters?|soldiers?|squad|firm|mob|"
        r"county|lines|chased|shook|scared|pussy\w*|violat\w*|taking\s+over|took\s+over|warned|"
        r"snitch\w*|rat|rats|dead|grave|emoji_(?:skull|coffin|ninja|knife|gun)|\d{1,2}\s*-\s*\d{1,2}"
    ),
    "drug_supply": (
        r"county|lines?|runners?|shott\w*|trap\w*|bando\w*|cunch|country|ot|plug|plugs|re\s*-?\s*up|menu|"
        r"drops?|dropping|deliver\w*|bud|weed|kush|skunk|zoots?|white|brown|coke|cocaine|crack|ket|pingers|"
        r"mandy|mdma|xans?|bars|pills?|charlie|sniff|gas|packs?|pack|oz|ounces?|grams?|8th|eighth|q|"
        r"quarter|half|nine\s*bar|9\s*bar|tenner\w*|£|\d+\s*(?:g|k)|lean|percs?|perc\w*|oxy\w*|fent\w*|heroin|"
        r"smack|spice|dealer\w*|deal|deals|dealing|selling|sell|sells|serving|supply\w*|stock|restock\w*|"
        r"press|zoo\w*|gas\s+menu|wickr|tele|greens|pressies|mushies|carts|edibles|thc|cali|exotics?|hmu|dm|dms|inbox|snap|tap\s+in|line|"
        r"youngers?|emoji_(?:leaf|pill|snow|plug|money|"
        r"chocolate)"
    ),
}


@dataclass(frozen=True, slots=True)
class Anchor:
    """The first anchor of a category in a post: ``[start, end)`` into the ORIGINAL text."""

    category: str
    term: str
    start: int
    end: int


#: A word masked against filters ("sh*nk", "k!ll", "h#rt") anchors every category: the model
#: still decides, but masking is itself how evasive posts are written.
MASKED = r"[a-z]+[*!#]+[a-z]+[*!#a-z]*"

#: Weapon words that are everyday words first ("ting", "piece", "tool", "nine", "heat", "bat"). In
#: drill slang they do name guns and knives ("say hello to the new ting, fully loaded"), so they
#: anchor, except where every one of them sits in an everyday phrase (``_EVERYDAY``: "the best
#: ting in my life", "the ting for the telly", "a piece of cake") and nothing else in the post is
#: a weapon or violence word.
AMBIGUOUS_WEAPON = (r"ting|tings|piece|tool|tools|nine|mash|heat|pole|bat|bats|beam|pump\w*|rounds?|shells?|clip|mag|"
                    r"carry\w*|carrie\w*|stun|hammer\w*|zombie|mac|tec|ak|armed|strap|straps|burner\w*|chopp\w*")

_SOURCES = dict(ANCHOR_SOURCES)
_SOURCES["violence_threat"] += "|" + ANCHOR_SOURCES["weapon"]      # "the nine is coming out"


def _words(src: str) -> str:
    return r"(?<![^\W_])(?:" + src + "|" + MASKED + r")(?![^\W_])"


#: gated (``fastre``): most posts have no anchor, and the folded twin says so ~5x faster
_RX: dict[str, Gated] = {c: Gated(_words(src)) for c, src in _SOURCES.items()}
_ANY = compile_folded(r"(?<![^\W_])", "|".join(_SOURCES.values()) + "|" + MASKED, r"(?![^\W_])")
_AMBIGUOUS_RX = re.compile(r"(?<![^\W_])(?:" + AMBIGUOUS_WEAPON + r")(?![^\W_])")
_VIOLENCE_ONLY_RX = re.compile(_words(ANCHOR_SOURCES["violence_threat"]))
_EVERYDAY = re.compile(
    r"(?:best|nicest|peng|sweet|good|lovely|pretty|cute|only|same|whole|other|funniest|worst|realest|craziest|maddest|"
    r"weirdest|wildest|biggest|main|little|lil|one|first|last|next|every|sorta|kinda|mad|big)\s+(?:ting|tings|piece)\b|"
    r"\b(?:ting|tings)\s+(?:for\s+the\s+(?:telly|tv|remote|box|phone|charger|door|car\s+park)|called|innit|is\s+so\b)|"
    r"\bpiece\s+of\s+(?:cake|work|paper|advice|mind|art|music|history|furniture|shit|crap|news|land|toast|string)|"
    r"\b(?:tool|tools)\s*(?:kit|box|shed|belt|bar|tip)|\bpower\s+tools?\b|\bcricket\s+bat|\bbat\s+(?:an?\s+eye|mitzvah)|"
    r"\b(?:heat|heatwave)\s+(?:wave|warning|pump|is|today|tho)|\bcloud\s+nine\b|\bnine\s+(?:to|till|til)\s+five\b")


def first_in_views(rx: re.Pattern[str] | Gated, norm: NormalisedText, category: str) -> Anchor | None:
    """The first match of ``rx`` in any view of ``norm``, as an anchor into the ORIGINAL text."""
    for view in norm.views():
        m = rx.search(view.text)
        if m is not None:
            start, end = view.to_original(*m.span())
            return Anchor(category, m.group(0), start, end)
    return None


def find_anchors(norm: NormalisedText) -> dict[str, Anchor]:
    """The first anchor of each category found in any view of ``norm`` (absent: no anchor)."""
    found: dict[str, Anchor] = {}
    if not any(_ANY.search(view.text) for view in norm.views()):
        return found                      # most posts: one folded search instead of one per category
    for c, rx in _RX.items():
        a = first_in_views(rx, norm, c)
        if a is not None:
            found[c] = a
    for c in ("weapon", "violence_threat"):
        a = found.get(c)
        if a is not None and _AMBIGUOUS_RX.fullmatch(a.term) and not _clear_anchor(norm, c):
            del found[c]                  # "the best ting in my life": an everyday word here
    return found


def _clear_anchor(norm: NormalisedText, category: str) -> bool:
    """Some anchor of ``category`` that is not an ambiguous weapon word inside an everyday phrase."""
    rx = _RX[category]
    for view in norm.views():
        everyday = [m.span() for m in _EVERYDAY.finditer(view.text)]
        for m in rx.finditer(view.text):
            if not _AMBIGUOUS_RX.fullmatch(m.group(0)):
                return True
            if not any(a <= m.start() and m.end() <= b for a, b in everyday):
                return True
        if category == "weapon" and _VIOLENCE_ONLY_RX.search(view.text):
            return True
    return False


def only_negated(norm: NormalisedText, category: str) -> tuple[str, int, int] | None:
    """``("negated" | "reported", start, end)`` when EVERY anchor of ``category`` in the post is
    negated in its clause or is someone else's quoted or reported words (``grammar.negated`` /
    ``grammar.reported``): "no one's getting hurt", "I would never pick up a knife", "'go and
    shank him' is still up? reported it". The model cannot see negation, so its score for the
    category is then set aside, with this span as the evidence. None otherwise."""
    text = norm.text
    first: tuple[str, int, int] | None = None
    for m in _RX[category].finditer(text):
        a, b = m.span()
        why = "negated" if grammar.negated(text, a) or grammar.answered_no(text, b) else "reported" if grammar.reported(text, a, b) else ""
        if not why:
            return None
        if first is None:
            start, end = norm.to_original(a, b)
            first = (why, start, end)
    return first
