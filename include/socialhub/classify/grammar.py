"""Threats recognised from their structure, not from a list of phrasings.

Why: a lexicon only knows the sentences someone wrote down ("i'll wet him"); real threats are
built from parts that combine freely: WHO (``i``, ``we``, ``someone``, elided ``gonna``), an
INTENT or a CALL (``will``, ``gonna``, ``should``, ``needs to``, an imperative), a VIOLENT ACT
(``kill``, ``cut``, ``shank``, ``put a bullet in``) and a TARGET (``you``, ``him``, ``all of
them``, ``those people``). This module matches those parts as small composable patterns, so
"I will cut their throats", "all of them should be shot in the street" and "mi a go kill yuh"
are found although none of them is listed anywhere.

It runs on the normalised text (``normalise.py``: lower case, homoglyphs, leetspeak, spacing
and zero-width characters already undone), returns ``Hit``\\ s like lexicon entries do (rule ids
``vt.grammar.*``, category ``violence_threat``) so scores, evidence spans and context rules work
the same way, and it is pure Python regexes: no model, nothing downloaded.

What keeps it from flagging harmless posts:

* the TARGET must be a person or a group of people: ``kill the vibe``, ``shoot the video``,
  ``cut the onions``, ``my mum's gonna kill me`` (the speaker) never match;
* ambiguous verbs need a stronger frame: ``beat`` needs ``up``/``to death``/``the shit out of``,
  ``cut`` a person or a body part, ``gas`` never takes ``up``, ``hit``/``take out`` are absent;
* NEGATION in the same clause before the act (``i would never hurt anyone``, ``nobody is gonna
  stab him``, ``i ain't gonna touch you``) drops the hit, except in fixed threatening frames
  (``don't make me``, ``won't hesitate to``, ``you won't see tomorrow``);
* REPORTED, QUOTED or CONDEMNED threats (``he said "i'll kill you" and i reported it``,
  ``saying they should all be shot is disgusting``) are dropped: a reporting verb or a
  condemnation in the clause around a quoted threat marks it as someone else's words;
* the lexicon's context rules (news, sport, gaming, fiction) still lower the category score.

Each surviving hit is one span of the post, so the officer sees exactly which words count.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from socialhub.classify.fastre import Gated, compile_folded, folded, union

__all__ = ["GRAMMAR_RULES", "GrammarHit", "NEGATION_WINDOW_WORDS", "answered_no", "negated", "reported", "scan"]

#: Words looked back from the start of a threat for a negation in the same clause.
NEGATION_WINDOW_WORDS = 5

_G = r"[\s,]+"                    # a gap between two words
_OPT_ADV = (r"(?:(?:just|fucking|fuckin|fkin|fking|fkn|effing|really|literally|actually|personally|straight\s+up|"
            r"seriously|definitely|defo|deffo|gladly|happily|slowly|quickly|honestly|probably|gonna|go|come|"
            r"finally|properly|proper|all|both|violently|brutally|simply|truly|surely|also|even|then|now|soon|"
            r"swear\s+down|swear\s+to\s+god|on\s+my\s+mum|on\s+god|ong|wallahi)" + _G + r")*")

# ------------------------------------------------------------------------------------ targets
_PERSON_NOUNS = (
    r"opps?|oppz|man|men|mans|mandem|guy|guys|boy|boys|boi|girl|girls|gal|gyal|kid|kids|bitch|bitches|pussy|pussies|"
    r"prick|pricks|cunt|cunts|twat|twats|rat|rats|snitch|snitches|wasteman|wastemen|yute|yutes|youts|"
    r"youngers|olders|people|peoples|folk|folks|lot|bastard|bastards|idiot|idiots|fool|fools|brother|brothers|bro|"
    r"bruv|cousin|cuz|family|fam|mum|mom|mother|dad|father|sister|wife|girlfriend|boyfriend|ex|son|daughter|baby|"
    r"babies|children|child|teacher|teachers|cop|cops|police|feds|fed|officer|officers|pigs|immigrants?|migrants?|"
    r"refugees?|foreigners?|muslims?|jews?|christians?|hindus?|sikhs?|blacks?|whites?|asians?|gays?|lesbians?|"
    r"trans|women|woman|females?|males?|feminists?|liberals?|tories|lefties|leftists?|protesters?|niggas?|niggaz|"
    r"niggers?|faggots?|fags?|dykes?|trannies|tranny|paedos?|pedos?|nonces?|scum|vermin|cockroaches|animals|"
    r"savages?|traitors?|pig|pigs|neighbours?|neighbors?|landlords?|bosses|boss|mp|mps|politicians?|journalists?|"
    r"crew|gang|members?|lads|geezers?|blokes?|dude|dudes|homie|homies|nigga|ho|hoes|thot|thots|someone|somebody|"
    r"clowns?|dickheads?|wankers?|neeks?|breddas?|bredrin|cops|coppers|pakis?|gypsies|travellers|illegals|"
    r"person|persons|brudda|bruddas|witness|witnesses|grasses|informers?|informants?|judge|judges|ref|referee|bouncers?|security|landlords?")
_POSSESSIVE = r"(?:your|ur|yo|his|her|their|dem|them|that|this|those|these|the|every|all\s+the|all|some|any|each|both|my|a|an)"
_PRONOUN = (r"you|u|ya|yu|yuh|yah|yous|youse|y'all|yall|ye|unu|him|hm|her|har|them|dem|em|'em|thee|"
            r"every\s+(?:single\s+|last\s+)one\s+of\s+(?:you|them|dem|u|those|these|y'all)|"
            r"(?:the\s+)?next\s+(?:one|person|guy|man|woman|\w+)\s+(?:that|who|to)\s+\w+|"
            r"every\s*(?:one|body|single\s+one|last\s+one|one\s+of\s+(?:you|them|dem|u|those|these|y'all))|"
            r"all\s+of\s+(?:you|u|them|dem|those|these|y'all|yall|ya)|(?:the\s+)?(?:whole\s+)?lot\s+of\s+(?:you|them|em|'em|dem)|(?:each|both|some|any|most|half)\s+of\s+(?:you|u|them|dem)|"
            r"anyone|anybody|any\s*one|any\s*body|whoever|any\s+(?:that|who)\s+\w+|every\s+\w+\s+(?:i|we|you|u)\s+(?:see|meet)")
_GROUP = r"(?:\w+\s+){0,2}(?:" + _PERSON_NOUNS + r")"
#: Agent nouns ("looters", "cyclists", "rapists", "landlords") name people only after a quantifier
#: ("every looter", "all the cyclists"); objects with the same endings are listed out.
_AGENT_NOT_PERSON = (r"others?|numbers?|corners?|papers?|computers?|printers?|timers?|servers?|orders?|letters?|answers?|"
                     r"colou?rs?|doors?|floors?|posters?|burgers?|cent(?:re|er)s?|met(?:re|er)s?|chapters?|layers?|filters?|"
                     r"folders?|markers?|stickers?|flowers?|towers?|powers?|borders?|headers?|monsters?|creepers?|sliders?|"
                     r"trailers?|characters?|motors?|errors?|factors?|sectors?|doctors?|ants?|plants?|points?|counters?|"
                     r"covers?|waters?|chargers?|controllers?|speakers?|burners?|containers?|hours?|flavou?rs?|rivers?|"
                     r"weathers?|summers?|winters?|quarters?|matters?|members?|mirrors?|posts?|parents?|accents?|"
                     r"events?|students?|clients?|patients?|residents?")
_AGENT = r"(?!(?:" + _AGENT_NOT_PERSON + r")\b)[a-z]{3,}(?:ists?|ers?|ians?|ors?|ites?|ants?|ents?)"
_QUANT_AGENT = r"(?:every|each|all\s+the|all|these|those|any)\s+(?:single\s+|last\s+)?(?:\w+\s+)?" + _AGENT
TARGET = (r"(?:(?:" + _PRONOUN + r")(?:" + _G + r"(?:all|both|lot|lots|two|too))?|"
          + _POSSESSIVE + r"\s+(?:next\s+|little\s+|lil\s+|fucking\s+|pussy\s+|stupid\s+)?" + _GROUP +
          r"|[a-z]+\s+(?:people|folk|folks|scum|vermin)|(?:" + _PERSON_NOUNS + r")\s+like\s+(?:you|him|her|them|that)"
          r"|next\s+\w+\s+(?:i|we)\s+see|" + _QUANT_AGENT + r"|@[a-z0-9_][\w.]*[a-z0-9_])")
_BODY = (r"(?:head|heads|face|faces|throat|throats|neck|necks|legs?|arms?|jaw|jaws|knees?|kneecaps?|skull|skulls|"
         r"chest|chests|heart|hearts|back|eyes?|teeth|nose|fingers?|ribs?|spine|brains?|guts?|stomach|belly|hands?|"
         r"ass|arse|wig|lights|melon|shoulders?|mouths?|bones|kidneys?|lungs?|tongues?|lips|ears?|balls|knees|life|lives)")
TARGET_OR_BODY = (r"(?:every\s+(?:single\s+)?bone\s+in\s+(?:your|ur|his|her|their|yo)\s+body|" + TARGET + r"|(?:(?:both|all)\s+)?(?:your|ur|yo|yuh|ya|his|her|their|dem|them|(?:that|this)\s+\w+'?s?|(?:the|there)(?!\s+(?:\w+\s+)?lights\b))\s+(?:\w+\s+)?" + _BODY + r")")

# ------------------------------------------------------------------------------------ acts
# Verbs that are violent with a person as object. Ambiguous ones carry their frame with them.
_VERB_STRONG = (
    r"kill|killl|kil|murder|murk|merk|stab|shank|shoot|shot|slit|behead|decapitate|lynch|strangle|torture|execute|"
    r"exterminate|slaughter|butcher|massacre|gun\s+down|mow\s+down|rape|wet|ching|juk|jook|bore|knife|drown|"
    r"poison|burn\s+alive|set\s+fire\s+to|blow\s+up|bomb|hang|string\s+up|stab\s+up|shoot\s+up|cut\s+up|slice\s+up|"
    r"chop\s+up|beat\s+up|batter|smash\s+up|bash\s+in|cave\s+in|kick\s+in|stomp\s+on|stomp|curb\s*stomp|glass|bottle|"
    r"acid|splash|dip|chef|cheff|chef\s+up|duppy|dead|buss|blast|clap|smoke|body|bun|bury|end|finish\s+off|"
    r"put\s+down|wipe\s+out|take\s+out|eliminate|cut|slash|slice|snuff|choke|suffocate|beat|hurt|harm|maim|"
    r"break|snap|smash|beat\s+to\s+death|hack|hack\s+up|gas|run\s+over|light\s+up|open\s+up|pop|cap|spray|"
    r"riddle|fuck\s+up|mess\s+up|jump|attack|assault|punch|stamp\s+on|kick|slap|whack|hit|fight|deck|bang|"
    r"run\s+up\s+on|pull\s+up\s+on|slide\s+on|spin\s+on|ride\s+on|put\s+hands\s+on|lay\s+hands\s+on|"
    r"get\s+hands\s+on|violate|shoot\s+at|fire\s+at|throw\s+acid\s+(?:at|on|in)|pour\s+acid\s+on|"
    r"set\s+fire\s+to|ambush|cut\s+off|chop\s+off|gut|skin|flay|disembowel|dismember|crucify|castrate|scalp|cripple|paralyse|paralyze|"
    r"lick\s+off|mash\s+up|stretch|air\s+out|wack|whack|smack|knock\s+out|knock|stomp\s+out|whoop|drop|bruk|"
    r"lick\s+off|mash\s+up|fling|box|bun\s+dung|run\s+down|hunt\s+down|drag|crack|split|rearrange|do\s+in|"
    r"put\s+to\s+sleep|send|leave|put|chop|poke|rip|tear|stone|crush|cave|sterilise|sterilize|hunt|emoji_knife|emoji_dagger|emoji_gun")
# ... whose object must come straight after them and that also need an extra frame when used
# as "modal + verb + target" (see _WEAK_OK below).
_WEAK = {"beat", "hurt", "harm", "break", "snap", "smash", "pop", "cap", "spray", "jump", "attack", "punch",
         "kick", "slap", "whack", "hit", "fight", "deck", "bang", "end", "bury", "smoke", "blast", "clap",
         "bun", "body", "dead", "cheff", "poke", "rip", "tear", "take out", "light up", "open up", "finish off", "put down", "wipe out",
         "eliminate", "mess up", "fuck up", "dip", "splash", "chef", "cut", "slash", "slice", "choke", "gas",
         "hang", "bomb", "blow up", "glass", "bottle", "acid", "buss", "shot", "assault",
         "violate", "stomp", "hack", "kick in", "pull up on", "run up on", "slide on", "spin on", "ride on",
         "drown", "poison", "batter", "knife", "jook", "juk", "stretch", "wack", "smack", "knock",
         "knock out", "whoop", "drop", "box", "fling", "crack", "split", "send", "leave", "put", "drag", "lick off",
         "bruk", "mash up", "air out", "chop", "gut", "skin", "stomp out", "run down", "hunt down", "rearrange", "do in", "put to sleep", "stone", "crush", "sterilise", "sterilize", "hunt", "cave"}
# Verbs that count only with a body part or a frame after the target, never through a gap.
_FRAME_ONLY = {"send", "leave", "put", "drag", "fling"}
# A weak verb counts with a person target when one of these frames follows (or the verb is used
# with a body part: "break your legs", "cut his throat").
_WEAK_OK = re.compile(
    r"^(?:\s+(?:up|down|in(?=\s*(?:[.!,]|$))|to\s+death|dead|senseless|black\s+and\s+blue|bad|badly|so\s+bad|so\s+hard|"
    r"with\s+(?:a|my|the|this|his)\s+\w+|with\s+(?:whatever|everything|anything)|on\s+sight|(?:as\s+)?soon\s+as|"
    r"the\s+minute|once|tonight|tomorrow|when|if|the\s+second|next\s+time|"
    r"till|until|for\s+(?:life|good)|in\s+(?:the\s+)?(?:street|face|head|neck|back)|outside|right\s+now|"
    r"all|and\s+(?:your|ur|his|her|their)|where\s+(?:you|u|he|she|they)\s+stand|"
    r"(?:you|u|yo|ya)\s+(?:little|stupid|fucking|fkn|pussy|piece)|"
    r"(?:the|your|ur|his|her)\s+(?:shit|crap|hell|life|fuck)\s+out|"
    r"so\s+hard|hard|first|properly|for\s+real|fr|on\s+god|on\s+my\s+mum|alive|"
    r"while\s+(?:they'?re|he'?s|she'?s|you'?re|they\s+are)\s+(?:on\s+the\s+(?:floor|ground)|down)|like\s+(?:a\s+|the\s+)?(?:fish|pig|dog|animal|rat|vermin|deer|cattle|sheep)s?\b|"
    r"from\s+(?:the|a)\s+(?:nearest\s+)?(?:tree|lamp\s*post|bridge|rafters)|"
    r"(?:who|that)\s+(?:ever\s+)?(?:touches|touch|looks?\s+at|disrespects?|comes?\s+(?:near|round|for)|violates?|"
    r"steps?\s+(?:to|on)|messes\s+with|snitches|snitch|gets\s+in)\b|to\s+sleep(?:\s+(?:for\s+good|permanently|forever))|"
    r"in\s+(?:a|the|that|this|your|ur)\s+(?:ditch|dirt|ground|grave|box|coffin|river|canal|lake|sea|bath|pool|"
    r"body\s*bag|hospital)|in\s+front\s+of|"
    r"through\s+(?:a|the|that|this)\s+(?:window|wall|door|windscreen)|to\s+(?:meet|see)\s+(?:ya|your|ur|his|her|their|yo)\s+"
    r"(?:granny|grandma|nan|maker|ancestors|god)|tf\s+up|the\s+fuck\s+up|out\s+cold|inna\s+di|inna|"
    r"till|til|and\s+(?:everyone|every|all)|every\s+one\s+of|all\s+of|to\s+(?:a\s+)?pulp|half\s+to\s+death|"
    r"within\s+an\s+inch\s+of|to\s+(?:shreds|pieces|a\s+bloody)|unconscious|bloody|black\s+and\s+blue|"
    r"back\s+to\s+the\s+stone\s+age|off\s+the\s+map|into\s+(?:oblivion|next\s+week|the\s+ground)|"
    r"in\s+(?:this|that|the)\s+(?:video|vid|clip|pic|picture|photo|footage)))"
    r"|^\s*(?:[.!]|$)"
)
# Where "put", "send", "leave", "drag" and "fling" take a person: the place is the threat.
_PUT_FRAME = re.compile(
    r"\s+(?:to\s+sleep(?:\s+(?:for\s+good|permanently|forever)|\W+permanently)|"
    r"(?:in|inna|into)\s+(?:a|the|di|da)\s+(?:ditch|dirt|ground|grave|box|coffin|river|canal|body\s*bag|hospital|morgue)|"
    r"through\s+(?:a|the|that|this)\s+(?:window|wall|door|windscreen|glass|table|fence|floor)|six\s+feet\s+under|"
    r"(?:all\s+)?(?:back\s+)?(?:home\s+)?in\s+(?:boxes|body\s*bags|coffins|pieces|bits|a\s+box|a\s+body\s*bag|a\s+coffin)|"
    r"(?:\S+\s+){0,2}?on\s+the\s+(?:floor|ground|pavement|concrete)(?!\s+(?:laughing|crying|rolling|in\s+stitches|dying\s+of))|"
    r"to\s+(?:the\s+)?(?:hospital|a&e|morgue|grave|icu|intensive\s+care|emergency\s+room|er)\b|"
    r"to\s+(?:go\s+)?(?:meet|see)\s+(?:ya|your|ur|his|her|their|yo)\s+(?:granny|grandma|nan|maker|ancestors|god))")
_PARTICIPLE = (
    r"killed|murdered|stabbed|shanked|shot|shot\s+dead|slit|beheaded|decapitated|lynched|strangled|tortured|"
    r"executed|exterminated|slaughtered|butchered|massacred|gunned\s+down|mowed\s+down|raped|wet|wetted|"
    r"chinged|ching'd|shank'd|merk'd|murk'd|bor'd|jook'd|juk'd|juked|jooked|bored|knifed|drowned(?!\s+out)|poisoned|burned|burnt|burned\s+alive|burnt\s+alive|hanged|hung|"
    r"strung\s+up|beaten|beaten\s+up|beaten\s+to\s+death|battered|stomped|curb\s*stomped|glassed|bottled|"
    r"splashed|dipped|cheffed|cheffed\s+up|duppied|bussed|blasted|clapped|smoked|bodied|bun|bunned|buried|"
    r"ended|finished\s+off|put\s+down|wiped\s+out|eliminated|eradicated|culled|gassed|run\s+over|maimed|"
    r"cut|cut\s+up|sliced|sliced\s+up|chopped\s+up|slashed|hacked|hacked\s+up|choked|suffocated|merked|murked|"
    r"popped|capped|sprayed|riddled|done\s+in|taken\s+out|fucked\s+up|messed\s+up|jumped|attacked|assaulted|"
    r"kicked\s+in|smashed\s+up|smashed|hurt|harmed|violated|deported\s+and\s+shot|thrown\s+off\s+\w+|"
    r"thrown\s+(?:in|into)\s+(?:a|the)\s+(?:river|sea|ocean|oven|ovens|fire|canal|channel)|set\s+on\s+fire|nuked|bombed|blown\s+up|"
    r"castrated|stoned|skinned|gutted|dead|a\s+body|euthanised|euthanized|sterilised|sterilized|hunted|hunted\s+down|"
    r"burned\s+at\s+the\s+stake|burnt\s+at\s+the\s+stake|rushed|lit\s+up|opened\s+up|slumped|smoked\s+out|"
    r"put\s+in\s+(?:a|the)\s+(?:box|ground|hospital|grave|ditch|body\s+bag)|put\s+six\s+feet\s+under|"
    r"torn\s+apart|ripped\s+apart|mauled|eaten\s+alive|run\s+down\s+by|hanging\s+from\s+(?:a|the)\s+(?:crane|tree|rope|lamp\s*post|bridge|noose)|dragged\s+(?:behind\s+(?:a|the)\s+(?:car|truck|lorry|horse)|through\s+the\s+streets|out\s+and\s+(?:shot|hanged|hung|beaten|killed))")
# Violent participles whose meaning needs a person subject (film "shot", budget "cut", cake
# "sliced", debt "wiped out"): counted only after a person/group subject.
_PARTICIPLE_PERSON_ONLY = {"shot", "cut", "sliced", "burned", "burnt", "buried", "ended", "put down", "wiped out",
                           "hurt", "harmed", "smashed", "smoked", "popped", "capped", "sprayed", "jumped",
                           "hung", "wet", "bored", "dipped", "splashed", "bun", "bunned", "dead", "a body",
                           "rushed", "lit up", "opened up", "cheffed", "blasted", "clapped", "finished off",
                           "taken out", "culled", "eliminated", "eradicated", "attacked", "bombed", "blown up",
                           "nuked", "gutted", "skinned", "stoned", "choked", "slumped", "hacked", "run over",
                           "fucked up", "messed up", "done in", "bodied", "bussed", "gassed", "slashed",
                           "smoked out", "hunted", "hunted down", "euthanised", "euthanized", "sterilised",
                           "sterilized", "torn apart", "ripped apart", "mauled", "eaten alive"}

# ------------------------------------------------------------------------------------ who + intent
_MODAL = (
    r"(?:(?:i|we|me\s+(?:and|n|&)\s+(?:the\s+|my\s+)?\w+|my\s+(?:boys|mandem|bros|brothers|guys|crew|gang|lot|team|g|gs|cousins?)|"
    r"the\s+(?:boys|mandem|guys|crew|gang|lads)|mandem|man|i\s+swear\s+(?:i|we))\s*"
    r"(?:'ll|'d\s+(?:love|like|happily|gladly)(?:\s+to)?|'m\s+(?:gonna|going\s+to|finna|about\s+to|bout\s+to|tryna|trying\s+to|coming\s+to|gon|ready\s+to)|"
    r"\s+will|\s+shall|\s+wil|\s+wl|\s+am\s+(?:gonna|going\s+to|about\s+to|coming\s+to|ready\s+to)|"
    r"\s+are\s+(?:gonna|going\s+to|coming\s+to|about\s+to|ready\s+to)|'re\s+(?:gonna|going\s+to|coming\s+to|about\s+to)|"
    r"\s+re\s+(?:gonna|going\s+to)|\s+(?:gonna|finna|gon|bout\s+to|about\s+to|wanna|want\s+to|intend\s+to|"
    r"plan\s+to|mean\s+to|would|'d|should|must|need\s+to|have\s+to|gotta|got\s+to|ought\s+to|better|"
    r"can't\s+wait\s+to|cant\s+wait\s+to|swear\s+down\s+i'll|promise\s+(?:i'll|to)|would\s+love\s+to|"
    r"would\s+happily|will\s+happily|'d\s+happily|'d\s+love\s+to|won't\s+hesitate\s+to|wont\s+hesitate\s+to|"
    r"will\s+not\s+hesitate\s+to|wouldn't\s+hesitate\s+to|am\s+not\s+afraid\s+to|'m\s+not\s+afraid\s+to|"
    r"ain't\s+afraid\s+to|'m\s+gonna\s+go|will\s+go|'ll\s+go|'m\s+finna\s+go|"
    r"won't|wont|wouldn't|wouldnt|would\s+never|will\s+never|am\s+not\s+(?:gonna|going\s+to)|"
    r"ain't\s+(?:gonna|going\s+to)|aint\s+(?:gonna|going\s+to)|(?:don't|dont|do\s+not)\s+(?:want\s+to|wanna)|"
    r"never\s+(?:wanna|want\s+to)|would\s+not|will\s+not|could\s+never|couldn't|couldnt|can't|cant|cannot)|"
    r"'d|'m\s+not\s+(?:gonna|going\s+to)))"
    r"|imma|ima|i'ma|i'mma|ama|amma|(?<=i\sswear\s)ill|(?<=^)ill|(?<=[.!?,]\s)ill|im\s+(?:gonna|going\s+to|finna|bout\s+to|about\s+to|tryna|gon)|finna|gonna|gon|going\s+to|bout\s+to|let's|lets|let\s+me|let\s+us|lemme|"
    r"(?:someone|somebody|some1|anyone|anybody|people|u|you|y'all|yall|we|they|dem|man|mandem|the\s+\w+|he|she)\s*"
    r"(?:should|needs\s+to|need\s+to|has\s+to|have\s+to|gotta|got\s+to|ought\s+to|must|better|pls|please|go)|"
    r"(?:mi|me|wi|we)\s+(?:a\s+go|ago|ah\s+go|a\s+guh|guh|gwine|gwaan|gonna|wi|will|ago\s+go)|"
    r"(?:don't|dont|do\s+not)\s+make\s+me|"
    r"(?:shall|should)\s+(?:i|we)|(?:want|wanna|want\s+me\s+to|wanna\s+see\s+me)\s+(?:me\s+to|us\s+to|me)"
)
_FATE_SUBJECT = re.compile(r"(?:^|\W)(?:cost|costs|bill|bills|life|karma|reality|universe|fate|rent|tax|taxes|it|this|"
                           r"that|hangover|monday|mondays|work|winter|weather|exam|exams|deadline)\s+"
                           r"(?:will|'ll|would|is\s+gonna|gonna|might|can|could|is\s+going\s+to)\s+(?:just\s+)?"
                           r"(?:come\s+(?:and|to|n)\s+)?$")
_NEG_MODAL = re.compile(r"n't|\bnt\b|\bwont\b|\bnever\b|\bnot\b|\bcannot\b|\bcant\b|\baint\b")
_NONPERSON_SUBJECT = re.compile(r"(?:^|\W)(?:it|it's|its|this|that|which|what|heat|weather|song|film|movie|game|"
                                r"exam|work|job|traffic|hangover|tune|track|album|beat|show|episode|book)\s*$")

# ------------------------------------------------------------------------------------ patterns
_NEG = re.compile(
    r"(?:^|\W)(?:not|never|no\s+one|noone|nobody|no\s+body|n't|nt|won't|wont|wouldn't|wouldnt|don't|dont|"
    r"didn't|didnt|can't|cant|cannot|ain't|aint|isn't|isnt|aren't|arent|shouldn't|shouldnt|nor|refuse\s+to|"
    r"no\s+need\s+to|stop|against)(?=\W|$)")
_NEG_EXEMPT = re.compile(r"(?:can't|cant)\s+wait|(?:won't|wont|wouldn't|wouldnt|will\s+not|not|ain't)\s+hesitate|"
                         r"not\s+afraid|(?:don't|dont|do\s+not)\s+(?:make|let|test|push|try)\s+me|"
                         r"(?:don't|dont)\s+care|won't\s+(?:stop|miss)|not\s+(?:even|joking|playing|lying)|"
                         r"no\s+(?:joke|lie|cap)|(?:don't|dont)\s+think\s+i\s+won't|"
                         r"(?:you|u)\s+(?:won't|wont|will\s+not|ain't|aint|not)\s+(?:see|make\s+it|live|last|reach)")
_CLAUSE_BREAK = re.compile(r"[.!?;:\n]|\s(?:but|so|because|cos|coz|cause|though|although|or\s+else|otherwise)\s|\bor\b")
_REPORT = re.compile(
    r"(?:^|\W)(?:said|says|saying|tweeted|tweets|tweeting|posted|posting|posts|wrote|writes|writing|"
    r"commented|comments|commenting|chanted|chanting|shouted|shouting|yelled|yelling|screamed|screaming|"
    r"threatened|threatening|threatens|told|tells|messaged|texted|texting|keeps\s+sending|"
    r"(?:people|they|some|others|he|she|folk|folks|everyone|anyone|many|who|to)\s+say|admitted|admits|voicemail|dm'd|(?:if\s+you|anyone\s+who|people\s+who|those\s+who|whoever|when\s+people)\s+"
    r"(?:think|thinks|believe|believes|say|says|want|wants|claim|claims)|claimed|claims|quote|quoting|quoted|"
    r"called\s+for|calling\s+for|calls\s+for|joked|joking\s+about|sang|singing|rapped|rapping|lyric|lyrics|"
    r"line\s+(?:was|is)|(?:a|the)\s+line\s+from|quote\s+from|from\s+the\s+(?:film|movie|song|book|show|series|game)|"
    r"the\s+words|headline|reads|sign\s+(?:said|read))(?=\W|$)")
_CONDEMN = re.compile(
    r"(?:^|\W)(?:disgusting|disgraceful|unacceptable|vile|sickening|horrible|horrific|awful|appalling|wrong|"
    r"not\s+ok|not\s+okay|not\s+acceptable|never\s+acceptable|shameful|shame|evil|hateful|hate\s+speech|reported|"
    r"reporting|report|blocked|condemn|condemns|condemned|no\s+place|is\s+a\s+crime|illegal|terrifying|scary|"
    r"harassment|abuse|abusive|banned|suspended|stop\s+saying|how\s+can|how\s+could|why\s+would|can't\s+believe|"
    r"cant\s+believe|sad\s+that|sick\s+of|tired\s+of|police|arrested|charged|court|jailed|victim|"
    r"counter|challenge|call\s+(?:it|this)\s+out|calling\s+(?:it|this)\s+out|dangerous|rhetoric|"
    r"incitement|inciting|normalis|normaliz|threats?\s+(?:like|such\s+as)|people\s+who\s+say|anyone\s+who\s+says|"
    r"responded|response|screenshot|called\s+the\s+police|calling\s+the\s+police|rang\s+the\s+police|"
    r"999|101|got\s+a\s+message|received|got\s+sent|keep\s+getting|evidence|solicitor|injunction|"
    r"non[\W_]*molestation|restraining\s+order|flagged|pcso|no\s+such\s+thing|nobody\s+deserves|no\s+one\s+deserves|"
    r"need\s+help|needs\s+help|still\s+up|taken\s+down|take\s+(?:it|this)\s+down|don'?t\s+engage|sick|"
    r"break\s+the\s+cycle|makes?\s+a\s+kid|stop)(?=\W|$)")
_QUOTES = "\"“”«»„"


@dataclass(frozen=True, slots=True)
class GrammarRule:
    id: str
    weight: float
    notes: str
    rx: Gated                     # the rule's regex, with a faster twin in front (``fastre``)
    negatable: bool = True


@dataclass(frozen=True, slots=True)
class GrammarHit:
    """One structural threat in the NORMALISED text: ``[start, end)`` into ``text``."""

    rule: str
    start: int
    end: int
    weight: float
    verb: str

    @property
    def term(self) -> str:
        """What an officer reads as the rule's "term": the structure and the act that made it a threat."""
        return f"{_LABELS.get(self.rule, 'threat structure')}: {self.verb}"


def _rule(rule_id: str, weight: float, notes: str, src: str, *, negatable: bool = True) -> GrammarRule:
    return GrammarRule(rule_id, weight, notes, Gated(r"(?<![^\W_])" + src + r"(?![^\W_])"), negatable)


GRAMMAR_RULES: tuple[GrammarRule, ...] = (
    _rule("vt.grammar.intent", 0.85,
          "someone announces or wants a violent act against a person or group: WHO + WILL/GONNA/SHOULD + ACT + TARGET",
          r"(?P<modal>" + _MODAL + r")" + _G + r"(?P<neg>(?:(?:never|not|n't|nt|ever|no\s+longer)" + _G + r")*)" +
          _OPT_ADV + r"(?:(?:see|watch)\s+me\s+)?(?P<verb>" + _VERB_STRONG + r")" + _G +
          r"(?:(?:the\s+)?(?:living\s+)?(?:shit|crap|hell|fuck|life|daylights|stuffing|snot)\s+out\s+of\s+)?(?P<target>" +
          TARGET_OR_BODY + r")"),
    _rule("vt.grammar.imperative", 0.8,
          "a call to attack people, at the start of a clause: ACT + TARGET (\"kill them all\", \"go and shank him\")",
          r"(?:(?<=^)|(?<=[.!?;:\n\"“(,])\s*|(?<=\s)(?=(?:go|just|pls|please|so|now|then|and|lads|boys|guys|mandem|fuckin|fucking|honestly)\s))"
          r"(?:(?:go|just|pls|please|so|now|then|and|lads|boys|guys|mandem|everyone|someone|somebody|fucking|fuckin|fkn|fkin|"
          r"honestly|seriously|literally|simply)" + _G +
          r"(?:(?:and|n|an)" + _G + r")?)*"
          r"(?P<verb>" + _VERB_STRONG + r")" + _G + r"(?P<target>" + TARGET_OR_BODY + r")"
          r"(?=\s*(?:all|dead|now|tonight|on\s+sight|\W|$))"),
    _rule("vt.grammar.normative", 0.85,
          "people SHOULD / NEED TO / DESERVE TO be attacked or die (\"they should all be shot\")",
          r"(?P<subject>(?:\w+[\s,]+){0,3}?\w+)" + _G +
          r"(?P<modal>should|shud|must|need\s+to|needs\s+to|ought\s+to|deserve\s+to|deserves\s+to|have\s+to|has\s+to|"
          r"gotta|better|fi|are\s+gonna|is\s+gonna|will|'ll|are\s+going\s+to|is\s+going\s+to|'re\s+gonna|'s\s+gonna|"
          r"'re\s+going\s+to|'s\s+going\s+to|are|is|'re|'s|r)" + _G +
          r"(?:(?:all|just|really|fucking|each|every\s+one|be\s+getting|definitely|literally|both|gonna|going\s+to)" + _G + r")*"
          r"(?:(?:\w+\s+){1,5}?(?:and|or)\s+(?:then\s+)?(?=be\s))?"
          r"(?:be|get|getting|go\s+and\s+get|get\s+got|end\s+up)" + _G +
          r"(?:(?:\w+\s+){1,6}?(?:and|or|then|before\s+being)\s+(?:then\s+)?)?" + r"(?:(?:all|fucking|properly)" + _G + r")*"
          r"(?P<verb>" + _PARTICIPLE + r"|in\s+(?:a|the)\s+(?:ditch|grave|box|coffin|body\s*bag|morgue|ground|river|canal))(?!\w)"),
    _rule("vt.grammar.should_die", 0.8,
          "people should / deserve to / need to DIE, or deserve a bullet",
          r"(?P<subject>whoever(?:\s+\S+){1,5}?(?=\s+(?:should|must|needs?|ought|deserves?)\b)|" + TARGET + r"|they|he|she|you|u|(?:(?<=^)|(?<=[.!?,;:\n]\s)|(?<=[.!?,;:\n]))(?:" + _PERSON_NOUNS + r"))(?:\s+(?:who|that)(?:\s+\S+){1,5}?(?=\s+(?:should|must|need|needs|"
          r"ought|deserve|deserves|have|has|gotta)\b))?" + _G + r"(?:(?:all|just|really|fucking|each)" + _G + r")?"
          r"(?:should|must|need\s+to|needs\s+to|ought\s+to|deserve\s+to|deserves\s+to|have\s+to|has\s+to|gotta|fi|"
          r"deserve|deserves|need|needs)" + _G + r"(?:(?:all|just|really|fucking)" + _G + r")?"
          r"(?P<verb>die|dead|be\s+dead|death|hang|swing|fry|rot|burn|bleed(?:\s+out)?|a\s+bullet|bullets|a\s+bullet\s+each|"
          r"a\s+bullet\s+in\s+the\s+head|the\s+rope|"
          r"a\s+knife\s+in\s+(?:the|their|his|her)\s+\w+|killing|shooting|stabbing|hanging|lynching|"
          r"putting\s+down|wiping\s+out|exterminating|a\s+beating|to\s+be\s+put\s+down|"
          r"a\s+(?:good\s+|proper\s+|right\s+)?(?:kicking|beating|hiding|battering|shoeing|stabbing|shanking|bullet|slap|smack|"
          r"punch\s+in\s+the\s+(?:face|mouth)|kick\s+down\s+the\s+stairs)|ending|to\s+be\s+ended|"
          r"a\s+(?:slow|painful|horrible|horrific|long|agonising|agonizing|violent|brutal|gruesome)(?:(?:\s+and|,)?\s+\w+)?\s+death|"
          r"(?:a\s+)?(?:bullet|knife|blade|shank)\s+(?:in|through)\s+(?:the|their|his|her|your|ur)\s+\w+)(?!\w)"),
    _rule("vt.grammar.body_harm", 0.8,
          "a person's body part to be cut, smashed or blown off (\"he deserves to get his throat cut\")",
          r"(?:(?P<modal>" + _MODAL + r"|deserves?\s+to|needs?\s+to|(?:'re|are|is|'s)\s+(?:gonna|going\s+to|about\s+to)|"
          r"will|'ll|gonna|finna|should|must|ought\s+to)" + _G + r"(?:get|have|see)|(?:need|needs|deserve|deserves|want|wants))" + _G +
          r"(?P<target>(?:your|ur|his|her|their|dem|yo)\s+(?:\w+\s+)?" + _BODY + r")" + _G +
          r"(?P<verb>cut|slit|slashed|smashed\s+in|smashed|kicked\s+in|caved\s+in|blown\s+off|blown\s+out|cut\s+off|"
          r"chopped\s+off|bashed\s+in|broken|broke|snapped|ripped\s+out|ripped\s+off|stamped\s+on|split\s+open|"
          r"opened\s+up|sliced|sliced\s+open|cut\s+open|shot\s+off|blown\s+away|sewn\s+shut|stitched\s+shut|wired\s+shut)(?!\w)"),
    _rule("vt.grammar.question", 0.8,
          "a threat as a question (\"want me to stab you?\", \"do you wanna get shot?\")",
          r"(?:(?:do\s+)?(?:you|u|ya|yu)\s+(?:want|wanna|tryna|trying\s+to|wan)\s+(?:to\s+)?(?:get|be)" + _G +
          r"(?P<verb>" + _PARTICIPLE + r")"
          r"|(?:want|wanna|shall|should)\s+(?:me|us|i|we)\s+(?:to\s+)?(?P<verb2>" + _VERB_STRONG + r")" + _G +
          r"(?P<target>" + TARGET_OR_BODY + r")"
          r"|who\s+(?:wants|wanna|want)\s+(?:to\s+)?(?:get|be)\s+(?P<verb3>" + _PARTICIPLE + r")"
          r"|(?:you|u|ya)\s+(?:want|wanna|need)\s+(?:a|some|one|sum)\s+(?P<verb4>bullets?|shank|blade|knife|"
          r"beating|slap|shells|lead|rounds?|smoke|wap|ting|stab\s+wounds?))"),
    _rule("vt.grammar.passive_future", 0.8,
          "a person WILL BE attacked (\"you're getting stabbed\", \"he's gonna get wet\", \"you'll end up in a body bag\")",
          r"(?P<target>(?:every\s+(?:single\s+)?one\s+of\s+(?:them|you|those|these|dem|\w+)|all\s+(?:of\s+)?(?:you|them|dem|"
          r"the\s+\w+|those\s+\w+|these\s+\w+|his\s+\w+|their\s+\w+)|every\s+(?:single\s+)?\w+|the\s+whole\s+\w+)"
          r"(?:\s+(?!(?:is|are|'re|'s|will|gonna)\b)[\w'&]+){0,5}?|"
          r"you|u|ya|yu|yuh|he|she|they|dem|y'all|yall|man(?='s)|your\s+(?:\w+\s+)?(?:man|boy|bro|brother|mum|"
          r"family|friends?|mate|mates|crew|gang|lot)|ur\s+(?:man|boy|bro|mum|fam|mandem|lot)|that\s+(?:\w+\s+)?(?:"
          + _PERSON_NOUNS + r"))"
          r"(?:\s*(?:'re|are|r|is|'s|will|'ll|gonna|gon|finna|bout\s+to|about\s+to|going\s+to|'re\s+going\s+to|"
          r"are\s+going\s+to|is\s+going\s+to|'s\s+going\s+to|'re\s+gonna|'s\s+gonna|are\s+gonna|is\s+gonna|"
          r"'ll\s+be|will\s+be|r\s+gonna)\s+|\s+(?=gettin\s|getting\s))"
          r"(?:all\s+)?(?:be\s+|get\s+|getting\s+|gettin\s+|get\s+got\s+|end\s+up\s+|be\s+getting\s+|"
          r"(?:going|goin)\s+(?=in\s+(?:a|the)\s+(?:body|box|coffin|grave|ditch|emoji_coffin)))"
          r"(?P<verb>" + _PARTICIPLE + r"|in\s+(?:a|the)\s+(?:body\s*bag|box|coffin|ditch|grave|morgue|hospital|ground|river|canal|"
          r"thames|sea|lake|wheelchair|boot\s+of\s+a\s+car|emoji_coffin)|emoji_coffin|emoji_skull|"
          r"six\s+feet\s+under|6\s+(?:feet|foot|ft)\s+(?:under|deep)|dead|"
          r"it(?=\s*(?:[.!,]|$|\s+(?:when|one\s+by\s+one|tonight|soon|next|on\s+sight|i\s+swear)))|"
          r"(?:your|their|his|her|ur|dem)\s+(?:\w+\s+)?" + _BODY + r"\s+(?:kicked|smashed|caved|bashed|stamped|cut|slit|"
          r"broken|opened|split|cracked|knocked|blown|chopped)(?:\s+(?:in|open|off|out|up))?)(?!\w)"),
    _rule("vt.grammar.will_die", 0.75,
          "YOU WILL DIE / won't live to see (\"you won't see your next birthday\")",
          r"(?P<target>you|u|ya|yu|he|she|they|dem|y'all|yall|(?:that|this|the|your|ur|you|u)\s+(?:\w+\s+)?(?:" + _PERSON_NOUNS + r")|"
          r"(?:each\s+and\s+)?every\s+(?:single\s+)?one\s+of\s+(?:you|u|them|dem|y'?all))\s*"
          r"(?:(?:'re|are|r|is|'s)\s+(?:all\s+)?(?:gonna|going\s+to|about\s+to|bout\s+to)\s+(?P<verb>die|burn|hang|rot|bleed|"
          r"pay\s+(?:in|with)\s+(?:blood|(?:your|their|his|her)\s+lives?))|"
          r"(?:'ll|will|gonna|finna)\s+(?:all\s+)?(?P<verb2>die|be\s+dead|be\s+next|pay\s+with\s+(?:your|his|their)\s+life|"
          r"burn(?!\s+(?:out|the|a|your|my|through|off|calories|bright))|rot|hang|bleed|pay\s+in\s+blood)|"
          r"(?:won't|wont|will\s+not|ain't|aint|not\s+gonna|aren't\s+gonna|are\s+not\s+going\s+to|r\s+not\s+gonna)\s+"
          r"(?P<verb3>live\s+long\s+enough|live\s+to\s+(?:regret|tell|see)|(?:see|make\s+it\s+to)\s+(?:the\s+inside\s+of\s+)?(?:a\s+)?"
          r"(?:court|courtroom|trial|the\s+trial)|"
          r"(?:see|make\s+it\s+to|live\s+to\s+see|reach|last|survive|see\s+out)\s+(?:tomorrow|\d+|"
          r"(?:your|ur|his|her|their)\s+next\s+birthday|christmas|the\s+weekend|next\s+week|another\s+day|the\s+morning|"
          r"the\s+night|the\s+year|(?:your|ur|his|her|their)\s+\d+\w*(?:\s+birthday)?|the\s+end\s+of\s+(?:the\s+)?(?:term|week|"
          r"month|year|summer|day|night))))", negatable=False),
    _rule("vt.grammar.put_in", 0.8,
          "bullets, blades or holes PUT IN a person (\"put one in his head\")",
          r"(?P<verb>put|putting|puttin|stick|sticking|shove|bang|send|sending|pump|pumping|empty|emptying|leave|"
          r"leaving|plant|planting|run|running)\s+(?:a|one|two|three|four|five|\d+|some|a\s+few|several|bare|the|"
          r"my|this|a\s+couple|couple|my\s+\w+|his|two\s+\w+)?\s*"
          r"(?:bullets?|shots?|holes?|rounds?|slugs?|blades?|knife|knives|shanks?|nines?|9s?|shells?|lead|steel|"
          r"one|two|clip|mag|magazine|ting|bora|shanks|dagger|machete|arrows?)\s+"
          r"(?:in|into|through|inna|in\s+to|thru|inside)\s+(?P<target>you|u|yuh|ya|yu|him|her|them|dem|"
          r"(?:your|ur|his|her|their|dem|that\s+\w+'?s?|every\s+\w+'s|the)\s+(?:\w+\s+)?(?:" + _BODY + r"|" + _PERSON_NOUNS + r"))"),
    _rule("vt.grammar.aim_for", 0.7,
          "aim for the head / neck (an instruction to hurt someone)",
          r"(?P<verb>aim|aiming|go|going|shoot|shooting|cut|stab|stabbing|strike|hit)\s+(?:for|at)\s+"
          r"(?:the|their|his|her|your|ur|dem|them|its)\s+(?P<target>heads?|necks?|throats?|eyes|hearts?|chests?|"
          r"faces?|jugulars?|arter(?:y|ies)|kids|children|families|legs|kneecaps?)", negatable=False),
    _rule("vt.grammar.burn_down", 0.75,
          "burn / torch / bomb people's homes or places of worship",
          r"(?P<verb>burn|burning|torch|torching|bomb|bombing|firebomb|petrol\s+bomb|blow\s+up|set\s+fire\s+to|"
          r"set\s+alight|nuke|nuking|carpet\s+bomb|shoot\s+up|smash|smash\s+up|smashing|wreck|wrecking|trash|torch\s+up|"
          r"raid|attack|attacking)\s+(?:down\s+)?(?:their|his|her|your|ur|the|them|dem|those|"
          r"these|every|all\s+(?:the|their)|that|this)\s+(?:\w+\s+)?(?P<target>houses?|homes?|flats?|mosques?|churches?|"
          r"synagogues?|temples?|gurdwaras?|shops?|cars?|estates?|hotels?|camps?|school|schools|ends|block|blocks|door|"
          r"doors|family|families|place|building|buildings|takeaway|restaurant|cafe|cookout|office|offices|club|pub|station|centre|center|clinic|"
          r"country|city|town|village|march|protest|rally|parade|crowd)"
          r"(?:\s+down)?"),
    _rule("vt.grammar.bomb_area", 0.75,
          "bomb, nuke or gas the places where people live (\"carpet bomb those neighbourhoods\")",
          r"(?P<verb>carpet\s+bomb|bomb|nuke|napalm|firebomb|gas)\s+(?:those|these|their|the|them|all\s+(?:the|their|those))\s+"
          r"(?:\w+\s+)?(?P<target>neighbourhoods?|neighborhoods?|areas|streets|districts?|slums?|ghettos?|communities|villages?|"
          r"towns|countries|cities|camps?|estates)(?!\w)"),
    _rule("vt.grammar.you_are_dead", 0.75,
          "YOU ARE DEAD / your days are numbered / watch your back (said to someone)",
          r"(?P<verb>(?:you|u|ya|yu|he|she|they|dem|your\s+man|ur\s+man)\s*(?:'re|are|r|is|'s|a)\s+"
          r"(?:so\s+|fucking\s+|actually\s+|literally\s+)?(?:dead|dead\s+meat|a\s+dead\s+man|a\s+dead\s+(?:ting|yute)|"
          r"next|finished|done\s+for|a\s+goner|getting\s+it))(?!\s*(?:wrong|right|funny|good|cute|serious|sexy|"
          r"on|tired|bored|lucky|wrong|behind|inside|ass|broke|weird|bad|loud|quiet|late|early|set|keen|"
          r"nice|sweet|\w+ing)\b)(?=\s*(?:[^\w\s]|$)|\s+(?:when|if|bro|fam|bruv|mate|blud|man|pussy|you|u|wallahi|the\s+(?:moment|minute|"
          r"second|day)|once|as\s+soon|"
          r"trust|watch|mark|now|tonight|soon|fr|for\s+real|innit|yeah|ya|g|cuz|lol)\b)"
          r"|(?:your|ur|his|her|their|ya)\s+days\s+(?:are|r|is)\s+numbered"
          r"|(?:watch|mind|check)\s+(?:your|ur|ya|yo|his|their)\s+back(?![\s,]+(?:ur|your|ya|yo|the)\s+(?:bag|zip|pocket|"
          r"phone|wallet|purse|coat|jacket|top|shirt|trousers|jeans|hood|label|tag)|\s+(?:when|while)\s+(?:lifting|"
          r"squatting|training|deadlifting|bending))"
          r"|(?:i|we|i\s+already|we\s+already)\s+(?:know|knw|kno|found\s+out)\s+where\s+(?:you|u|ya|he|she|they|"
          r"your\s+\w+|ur\s+\w+)\s+(?:live|lives|sleep|sleeps|stay|stays|rest|go\s+to\s+school|work)"
          r"|sleep\s+with\s+one\s+eye\s+open|dead\s+(?:man|men|yute|ting)\s+walking(?!\s+(?:in|on)\s+(?:the|this|that|a)\s+"
          r"(?:new\s+)?(?:series|show|film|movie|episode|book|play|musical|season))"
          r"|(?:you|u|he|she|they|ur\s+man|your\s+man)\s*(?:'re|are|r|is|'s|will\s+be|'ll\s+be)\s+"
          r"(?:in\s+a\s+body\s*bag|in\s+a\s+box|six\s+feet\s+under|6\s+(?:feet|foot|ft)\s+(?:under|deep))"
          r"|(?:catch|caught|see|find|get)\s+(?P<target>you|u|ya|him|her|them|dem|ur\s+\w+|your\s+\w+|that\s+\w+)\s+"
          r"(?:lacking|slipping|slippin|lackin|alone|on\s+(?:your|ur|his|her|their)\s+own)"
          r"|(?:it'?s|its|is)\s+on\s+sight|(?:you|u|him|her|them|dem|opps?|man)\s+(?:are\s+|r\s+|is\s+)?on\s+sight"),
    _rule("vt.grammar.progressive", 0.8,
          "a first-person threat in the present tense, as a plan (\"I'm breaking his legs\", \"I'm running you over\")",
          r"(?P<modal>(?:i|we)\s*(?:'m|'re|\s+am|\s+are|\s+m)|ima|imma)" + _G + _OPT_ADV +
          r"(?P<verb>killing|murdering|stabbing|shanking|shooting|breaking|snapping|running\s+(?:\w+\s+)?over|"
          r"putting|cutting|slicing|burning|torching|smashing|beating|battering|hurting|slapping|punching|kicking|"
          r"bodying|wetting|chinging|doing|dragging|drowning|strangling|choking|hanging|bottling|glassing|"
          r"stomping|bussing|blasting|splashing|dipping|cheffing|ending|finishing|taking|stamping\s+on|stomping\s+on|"
          r"jumping\s+on|caving|bashing|kicking\s+in|slashing|chopping|gutting|hacking|knifing|slitting|gunning\s+down|"
          r"lynching|executing|torturing|butchering|bombing|gassing|burying|dropping|merking|murking|shanking|juking|jooking|"
          r"boring|poking|spraying|blasting|popping|clapping|lighting\s+up|opening\s+up)" + _G +
          r"(?P<target>" + TARGET_OR_BODY + r")"),
    _rule("vt.grammar.intent_gap", 0.75,
          "announced intent, with a few words between the act and the person (\"ima beat yo ass\", \"i'll knock your teeth out\")",
          r"(?P<modal>" + _MODAL + r")" + _G + r"(?P<neg>(?:(?:never|not|n't|nt|ever)" + _G + r")*)" + _OPT_ADV +
          r"(?:(?:find|catch|ketch|see|get|grab|meet|come\s+fi|come\s+for|pull\s+up\s+on)\s+(?:you|u|yuh|ya|him|her|them|dem)"
          r"(?:\s+\w+){0,3}?\s+(?:and|an|n)\s+)?"
          r"(?P<verb>" + _VERB_STRONG + r")" + _G + r"(?:\w+\s+){0,2}?(?P<target>" + TARGET_OR_BODY + r")"
          r"(?P<tail>(?:\s+(?:\w+\s+){0,2}?(?:off|out|in|up|down|open))?)"),
    _rule("vt.grammar.put_away", 0.8,
          "a person put in the ground, through a window, to sleep for good (\"somebody should put that man in the ground\")",
          r"(?P<verb>put|putting|puttin|send|sending|leave|leaving|lay|laying)\s+(?P<target>" + TARGET + r")\s+"
          r"(?:in\s+(?:the|a|an|his|her|their|your|ur)\s+(?:ground|grave|dirt|ditch|box|coffin|body\s*bag|morgue|hospital|"
          r"river|canal|early\s+grave|wheelchair)|through\s+(?:a|the|that|this)\s+(?:window|wall|windscreen)|"
          r"to\s+sleep\s+(?:for\s+good|permanently|forever)|to\s+sleep\W+permanently|six\s+feet\s+under|"
          r"to\s+(?:go\s+)?(?:meet|see)\s+(?:ya|your|ur|his|her|their|yo)\s+(?:granny|grandma|nan|maker|ancestors|god)|"
          r"in\s+a\s+pool\s+of\s+(?:blood|their\s+own\s+blood)|on\s+(?:a\s+)?(?:t[\W_]*)?shirt|"
          r"(?:back\s+)?(?:home\s+)?in\s+(?:a\s+)?(?:body\s*bags?|box|boxes|coffins?|pieces)|(?:all\s+)?to\s+(?:the\s+)?(?:gas\s+chambers?|ovens?|death\s+camps?|camps?|gallows|firing\s+squad|electric\s+chair|"
          r"slaughter(?:house)?|grave|graves))"),
    _rule("vt.grammar.question2", 0.75,
          "a threat as a question (\"are you ready to die?\", \"who wants to be the first one I stab?\", \"want your wig split?\")",
          r"(?:(?:are|r)\s+(?:you|u|ya|yuh)\s+ready\s+to\s+(?P<verb>die|bleed|get\s+\w+ed)"
          r"|(?:do\s+)?(?:you|u|ya|yuh)\s+(?:want|wanna|waan|tryna)\s+(?:to\s+)?(?P<verb2>die|dead|end\s+up\s+(?:on\s+a\s+t[\W_]*shirt|"
          r"in\s+a\s+(?:box|ditch|body\s*bag)|dead))"
          r"|who\s+wants\s+to\s+be\s+the\s+(?:first|next)\s+(?:one\s+)?(?:i|we)\s+(?P<verb3>" + _VERB_STRONG + r")"
          r"|(?:want|fancy|like)\s+(?:a|your|ur|yo|getting\s+your|getting\s+ur)\s+(?:\w+\s+)?(?P<target>" + _BODY + r")\s+"
          r"(?P<verb4>split|broken|broke|rearranged|cracked|smashed|opened\s+up|caved\s+in|kicked\s+in|cut|slit|"
          r"stamped\s+on|snapped|knocked\s+out)"
          r"|(?:fancy|want)\s+a\s+(?P<verb5>cracked\s+skull|broken\s+(?:jaw|nose|leg|neck)|stab\s+wound|bullet|trip\s+to\s+a\W*e))",
          negatable=False),
    _rule("vt.grammar.implicit", 0.7,
          "a threat in a set phrase that marks a person (\"you're on borrowed time\", \"see you at your funeral\")",
          r"(?P<verb>(?:you'?re|you\s+are|ur|u\s+r|yuh|your\s+\w+\s+(?:is|are))\s+on\s+borrowed\s+time"
          r"|(?:your|ur|yuh)\s+time(?:'s|\s+is)?\s+(?:\w+\s+)?(?:up|reach|soon\s+come|running\s+out)"
          r"|(?:see|c)\s+(?:you|u|ya)\s+at\s+(?:your|ur)\s+(?:funeral|wake|grave)"
          r"|(?:start\s+)?(?:picking|pick)\s+out\s+(?:your|ur)\s+(?:coffin|casket|headstone|grave)"
          r"|saving\s+(?:up\s+)?for\s+(?:the|your|ur|his|a)\s+funeral|(?:buy|get)\s+black\s+clothes"
          r"|(?:said|say)\s+your\s+goodbyes|(?:looking|look)\s+over\s+(?:your|ur)\s+shoulder"
          r"|(?:it'?ll|it\s+will|this\s+will)\s+be\s+(?:your|ur|his)\s+last\s+(?:one|christmas|birthday|summer|day)"
          r"|(?:your|ur)\s+last\s+(?:christmas|birthday|mistake)|made\s+(?:your|ur)\s+last\s+mistake"
          r"|last\s+warning\W+(?:\w+\W+){0,4}?(?:next\s+time|or\s+else|or\s+you|before\s+(?:i|we)|there\s+won'?t\s+be)"
          r"|(?:your|ur)\s+name'?s?\s+(?:is\s+)?on\s+the\s+list|already\s+a\s+(?:memory|ghost|dead\s+man)"
          r"|(?:rip|rest\s+in\s+peace)\s+to\s+(?:you|u|ya)\s+in\s+advance|pray\s+(?:i|we)\s+(?:don'?t|never)\s+(?:find|catch|see)"
          r"|(?:you|u|yuh)\s+(?:won'?t|will\s+not|nah\s+go|aint\s+gonna|ain'?t\s+gonna)\s+(?:walk|leave|get\s+out|make\s+it)\s+"
          r"(?:out|again|alive|home|here)|(?:won'?t|will\s+not)\s+walk\s+again"
          r"|(?:end\s+up|be)\s+on\s+(?:a\s+)?(?:t[\W_]*)?shirt|(?:rest|sleep)\s+in\s+peace\s+soon"
          r"|(?:(?:fi|to)\s+dead|gunshot\s+fi\s+(?:yuh|you|dem|unu)|yuh\s+(?:a\s+)?dead(?:\s+man)?|yuh\s+life\s+done)"
          r"|see\s+what\s+happens\s+to\s+(?:your|ur)\s+\w+|what\s+happens\s+to\s+(?:people|grasses|snitches|rats|informers|"
          r"anyone|those)\s+(?:who|round|like)|what\s+(?:your|ur)\s+\w+\s+looks?\s+like\s+(?:opened|cut|smashed|split|"
          r"caved|kicked)|(?:want|have|play)\s+at\s+(?:your|ur)\s+funeral"
          r"|(?:hands?|fingers?|rope|belt)\s+(?:round|around)\s+(?:your|ur|his|her)\s+(?:throat|neck)"
          r"|stab\s+wounds?\s+(?:\w+\s+){0,6}?(?:you|u)\s+(?:can|could)\s+take"
          r"|(?:make\s+sure|ensure)\s+(?:you|u|he|she|they)\s+(?:don'?t|never|do\s+not|won'?t)\s+(?:leave|walk|get\s+out|"
          r"make\s+it)|with\s+(?:you|u|them|him|her)\s+(?:still\s+)?in(?:side)?\s+it|til\w*\s+(?:you|u|he|they)\s+stop\s+"
          r"breathing|with\s+(?:your|ur|his|her|their)\s+names?\s+on\s+(?:it|them)|"
          r"death\s+to\s+(?:all\s+)?(?:the\s+)?(?:\w+\s+)?(?:" + _PERSON_NOUNS + r"|traitors|infidels|kuffar|\w+ists|\w+ers)\b|"
          r"set\s+(?:you|u|him|her|them|dem|'em|em)\s+(?:on\s+fire|alight|ablaze)|"
          r"(?:love|like|want|wanna|can'?t\s+wait|cant\s+wait)\s+to\s+see\s+(?:them|him|her|you|u|y'all|yall|em|'em|dem)\s+"
          r"(?:all\s+)?(?:burn|die|hang|bleed|suffer|rot|drown|choke|get\s+(?:shot|stabbed|killed|hanged|lynched))|"
          r"see\s+what\s+happens\s+to\s+(?:you|u|ya|yu|yuh|you\s+lot|u\s+lot|y'?all)\b|"
          r"pay\s+(?:you|u|him|her|them|dem)\s+a\s+(?:little\s+|quick\s+)?visit(?:\s+\S+){0,2}?\s+(?:you|u|he|she|they)\s+(?:won'?t|will\s+never)\s+forget|"
          r"(?:knife|blade|gun|pistol|machete|shank)\s+(?:at|to|against|in)\s+(?:your|ur|his|her|their)\s+(?:throat|neck|head|back|temple)|"
          r"next\s+time\s+it\s+won'?t\s+be\s+(?:your|ur|his|her|their)\s+\w+\s+(?:that|which)\s+(?:get|gets|is|are|gonna\s+get)\s+"
          r"(?:slashed|smashed|burned|burnt|broken|stabbed|cut|kicked\s+in|torched|shot)|"
          r"make\s+an\s+example\s+(?:out\s+)?of\s+(?:you|u|him|her|them|dem)\b|"
          r"see\s+who'?s\s+(?:still\s+)?(?:standing|breathing|alive)|"
          r"(?:going\s+to|gonna|will|'ll)\s+find\s+(?:your|ur|his|her|their)\s+(?:body|bodies|remains|corpse)|"
          r"pay\s+(?:good\s+|big\s+|real\s+)?money\s+to\s+see\s+(?:someone|somebody|some1|them|you)\s+(?:kill|shoot|stab|hang|hurt|"
          r"smash|batter|punch|knock\s+\w+\s+out|beat\s+\w+\s+up|run\s+\w+\s+over)|"
          r"(?:every|all\s+the|all|those|these|their)\s+(?:mosques?|churches?|synagogues?|temples?|gurdwaras?|(?:refugee\s+|migrant\s+)?hotels?|"
          r"camps?|homes?|houses?)(?:\s+\S+){0,4}?\s+(?:should|must|need\s+to|needs\s+to|deserve\s+to|ought\s+to)\s+be\s+"
          r"(?:burned|burnt|torched|bombed|blown\s+up|razed|set\s+on\s+fire|firebombed)|"
          r"dental\s+records\s+to\s+identify|"
          r"(?:be\s+)?left\s+to\s+(?:bleed\s+out|bleed\s+to\s+death|die|rot|burn)|"
          r"do\s+to\s+(?:him|her|them|you|that\s+\w+)\s+what\s+(?:he|she|they|you)\s+did\s+to|"
          r"(?:is|are|'s|'re)\s+getting\s+a\s+(?:bottle|brick|bat|knife|blade|bullet|hammer|chair|glass)\s+(?:over|across|in|to|through|round)\s+"
          r"(?:the|his|her|their|your|ur)\s+(?:head|face|skull|neck|chest)|"
          r"with\s+(?:baseball\s+bats|bats|knives|machetes|guns|petrol|bricks|hammers|crowbars)\s+and\s+(?:petrol|knives|machetes|guns|"
          r"bricks|hammers|matches|lighters|fire|bats)|"
          r"give\s+me\s+(?:a|an|my|the)\s+(?:rifle|gun|sniper(?:\s+rifle)?|machine\s+gun|ak|ak47|shotgun|bomb|knife|machete|rope|"
          r"flamethrower|tank)\s+and(?=\s)|"
          r"hope\s+(?:his|her|their|your|ur|that)\s+(?:\w+\s+)?(?:plane|car|house|bus|flat|boat|train)\s+(?:crashes|burns|explodes|blows\s+up|"
          r"goes\s+up\s+in\s+flames|sinks|goes\s+down)|"
          r"(?:they'?ll|you'?ll|he'?ll|she'?ll|they\s+will|you\s+will)\s+be\s+carried\s+out(?!\s+(?:by|of|as|according|under|in\s+"
          r"(?:line|accordance)))|"
          r"(?:flip|pull|throw|press)\s+the\s+(?:switch|lever|button)\s+on\s+(?:the\s+|that\s+)?(?:electric\s+chair|gallows|trap\s*door|"
          r"gas\s+chamber)|kick\s+the\s+(?:chair|stool)\s+(?:away|out\s+from\s+under)|"
          r"(?:want|wanna|love|like|can'?t\s+wait|cant\s+wait|would\s+love|pay|dream\s+of\s+the\s+day\s+I\s+get)\s+to\s+(?:see|watch)\s+"
          r"(?:" + TARGET + r")\s+(?:all\s+)?(?:die|burn|hang|bleed|suffer|rot|drown|choke|scream|"
          r"(?:get\s+|being\s+|be\s+)?(?:" + _PARTICIPLE + r"))(?!\w)|"
          r"make\s+sure\s+(?:that\s+)?(?:" + TARGET + r")(?:\s+\S+){0,4}?\s+(?:suffers?|dies?|bleeds?|never\s+walks?\s+again|"
          r"gets?\s+(?:hurt|killed|stabbed|shot|beaten))\b|"
          r"get\s+rid\s+of\s+(?:" + TARGET + r")\s+(?:by\s+any\s+means|permanently|for\s+good|once\s+and\s+for\s+all|violently)|"
          r"gets?\s+a\s+(?:brick|bullet|knife|bottle|bat|hammer|blade|machete)\s+(?:through|in|into|to|across)\s+(?:the|his|her|their|your|ur)\s+"
          r"(?:skull|head|face|chest|neck|back|throat)|"
          r"(?:you'?ll|you\s+will|he'?ll|she'?ll|they'?ll|you'?re\s+gonna|u'?ll)\s+be\s+pushing\s+up\s+(?:the\s+)?daisies|"
          r"(?:wouldn'?t|would\s+not|won'?t|will\s+not)\s+lose\s+(?:any\s+)?sleep\s+if\s+(?:someone|somebody|they|he|she|some\s+\w+)\s+"
          r"(?:\w+\s+){0,2}?(?:killed|shot|stabbed|ran|run|hanged|hung|murdered|bombed|burned|burnt|beat|battered|knifed|torched)|"
          r"empt(?:y|ied|ying)\s+(?:the|a|my|his|whole|that)\s+(?:whole\s+)?(?:clip|mag|magazine|chamber|extendo)|"
          r"(?:learn|know|find\s+out|show\s+you)\s+what\s+(?:real\s+)?pain\s+(?:is|feels\s+like|really\s+is)|"
          r"make\s+(?:you|u|him|her|them|dem)\s+(?:eat|swallow)\s+(?:your|ur|his|her|their|dem)\s+(?:own\s+)?teeth|"
          r"set(?:ting)?\s+(?:the|my|our|a)\s+dogs?\s+on\s+(?:you|u|him|her|them|dem)|finish(?:ing)?\s+the\s+job\s+(?:myself|ourselves|properly)|"
          r"bring\s+(?:the|your|ur|ya)\s+(?:bats|blades|knives|straps|guns|tools|shanks|machetes|hammers|ting|tings|skengs|boras|weapons)|"
          r"(?:leave|leaves|leaving|go\s+home|goes\s+home|going\s+home|end\s+up|ends\s+up|carried\s+out|come\s+out)\s+in\s+an?\s+"
          r"(?:ambulance|body\s*bag|box|hearse|coffin|stretcher)|"
          r"(?:i'?ll|we'?ll|i\s+will|we\s+will)\s+be\s+waiting\s+(?:for\s+(?:you|u)\s+)?in\s+(?:your|ur)\s+(?:garden|house|flat|room|"
          r"car|bedroom|kitchen|hallway|loft|shed)|bring\s+(?:your|ur)\s+(?:friends|mates|boys|crew|family|mandem)\W+(?:you'?ll|you\s+will|"
          r"u'?ll)\s+need\s+(?:them|em|'em|it)|"
          r"(?:be\s+)?(?:eating|drinking)\s+through\s+a\s+straw|"
          r"cut\s+(?:the\s+)?brakes?\s+(?:on|of|in)\s+(?:his|her|their|your|ur)\s+(?:car|van|bike|motor)|"
          r"lock\s+the\s+doors?\b(?:\s+\S+){0,6}?\s+(?:and|n|&)\s+(?:light\s+it\s+up|set\s+(?:it\s+)?(?:on\s+fire|alight)|burn\s+it)|"
          r"(?:throw|chuck)\s+(?:them|these\s+\w+|those\s+\w+|him|her|the\s+lot)\s+(?:all\s+)?out\s+of\s+(?:a\s+|the\s+)?(?:helicopters?|planes?)|"
          r"(?:they|them|he|she|you|all\s+of\s+them|every\s+one\s+of\s+them)(?:'d|'ll|\s+would|\s+will|\s+should)?\s+(?:all\s+)?be\s+"
          r"(?:all\s+)?swinging\s+from\s+(?:the\s+)?(?:trees|a\s+tree|lamp\s*posts?|lampposts|the\s+gallows|a\s+rope|ropes|nooses?)|"
          r"(?:drive|push|throw|chase|run)\s+(?:them|em|'em|the\s+lot\s+of\s+them|every\s+\w+)\s+(?:all\s+)?(?:back\s+)?into\s+the\s+sea(?!\s*front)|"
          r"(?:put|load|pack|stick)\s+(?:them|em|'em|the\s+lot)\s+(?:all\s+)?(?:on|in|into)\s+(?:a|the)\s+(?:boat|ship|raft|dinghy|plane|train)\s+"
          r"(?:and|n|&)\s+(?:sink|blow|bomb|torpedo|shoot|burn|crash)|"
          r"line\s+(?:" + TARGET + r")\s+up\s+(?:and|n|&)\s+(?:open\s+fire|fire|gun\s+them\s+down|mow\s+them\s+down)|"
          r"(?:be\s+)?made\s+an\s+example\s+of(?:\W+\w+){0,3}?\W+with\s+(?:a|the)\s+(?:rope|noose|bullet|gun|knife|machete|bat)|"
          r"(?:gasoline|petrol|kerosene|fuel)\s+and\s+(?:a\s+)?(?:match|matches|lighter)\s+(?:can'?t|won'?t|wouldn'?t|couldn'?t|would|will|could)\s+"
          r"(?:fix|solve|sort)|beat\s+(?:it|that|the\s+\w+)\s+out\s+of\s+(?:him|her|them|you|u)\b|"
          r"aborted\s+(?:the\s+lot\s+of\s+them|them\s+all|all\s+of\s+them|every\s+one\s+of\s+them)|"
          r"(?:give|do\s+to|treat|deal\s+with)\s+(?:them|him|her|these\s+\w+|those\s+\w+)\s+(?:what|like|the\s+way)\s+hitler\s+(?:gave|did|dealt|treated)|"
          r"finish\s+what\s+hitler\s+started|"
          r"(?:brick|bricks|weights?|concrete|rocks?|chains?)\s+(?:to|round|around|on)\s+(?:their|his|her)\s+(?:legs|feet|ankles|necks?)|"
          r"(?:throw|chuck|dump|toss)\s+(?:him|her|the\s+lot\s+of\s+them)\s+(?:all\s+)?(?:in|into)\s+(?:a|the)\s+(?:fire|furnace|volcano|"
          r"wood\s*chipper|incinerator|oven)|(?:throw|chuck|dump|toss)\s+(?:all\s+)?(?:the|these|those|every)\s+(?:\w+\s+)?(?:"
          + _PERSON_NOUNS + r")\s+(?:in|into)\s+(?:the|a)\s+(?:sea|river|lake|ocean|channel|canal)|"
          r"bring\s+back\s+(?:hanging(?!\s+baskets)|the\s+rope|the\s+noose|the\s+death\s+penalty|public\s+executions|the\s+gallows|firing\s+squads)"
          r"(?:\W+\w+){0,3}?\W+(?:start|starting|begin|beginning)\s+with\s+(?:him|her|them|you|this\s+\w+|that\s+\w+|@\w+)|"
          r"(?:release|unleash|let\s+loose|set)\s+(?:the\s+)?(?:hounds|dogs)\s+on\s+(?:" + TARGET + r")|"
          r"time\s+for\s+(?:a|the|another|some)\s+(?:(?:purge|cull|cleansing)(?:\W+\w+){0,2}?\W+(?:every\s+(?:last\s+|single\s+)?one\s+of\s+them|"
          r"them\s+all|all\s+of\s+them)|genocide|massacre|bloodbath|holocaust|final\s+solution|ethnic\s+cleansing|lynching|hanging)|"
          r"(?:loading|loaded|cocking|cocked)\s+(?:the|my|his|a)\s+(?:shotgun|gun|rifle|pistol|glock|piece)\W+(?:\w+\W+){0,8}?gets\s+it\b|"
          r"(?:his|her|their|your|ur|yo)\s+heads?\s+on\s+(?:a\s+)?(?:spikes?|pikes?|platter)|"
          r"(?:solution|answer|cure|fix)\s+(?:is|=|would\s+be)\s+(?:simple\W+)?(?:a\s+)?(?:bullet|bullets|the\s+rope|rope|a\s+noose|a\s+mass\s+grave|mass\s+graves|extermination|genocide|the\s+ovens|"
          r"the\s+gas\s+chamber|gas\s+chambers|a\s+firing\s+squad|the\s+gallows|a\s+machete)\b"
          r"(?!\s*(?:journal|points?|list|proof|train|time|chess|for\s+(?:your|the)\s+(?:cv|essay)))|"
          r"(?:(?<=\bi'll\s)|(?<=\bimma\s)|(?<=\bima\s)|(?<=\bill\s)|(?<=\bi\swill\s)|(?<=\bi'm\sgonna\s)|(?<=\bim\sgonna\s)|"
          r"(?<=\bi'm\sfinna\s)|(?<=\bim\sfinna\s)|(?<=\bi\sgonna\s)|(?<=\bi\sfinna\s))(?:slap|knock|punch|smack)\s+the\s+(?:taste|teeth|spit|piss|shit|snot|stupid|black|white)\s+(?:out|outta|off)\s+"
          r"(?:of\s+)?(?:yo|your|ur|his|her|their|ya)\b|"
          r"(?:gonna|gon|going\s+to|will|'ll|finna)\s+find\s+(?:you|u|him|her|them|dem|ya)\s+(?:floating|face\s+down|dead|"
          r"in\s+(?:a|the)\s+(?:river|canal|ditch|woods|boot|skip|bin))|"
          r"tie\s+(?:them|him|her|em|'em|dem)\s+(?:up\s+)?(?:to\s+(?:a|the)\s+\w+\s+)?(?:and|n|&)\s+(?:burn|beat|whip|shoot|torture|"
          r"stone|drown)|(?:give|giving|leave|leaving)\s+(?:you|u|him|her|them)\s+a\s+(?:glasgow|chelsea)\s+smile|"
          r"(?:make|have)\s+(?:your|ur|his|her|their)\s+(?:mum|mom|mother|family|dad|wife|kids|missus)\s+identify\s+"
          r"(?:you|u|him|her|them|your\s+body|the\s+body)|"
          r"(?:(?:i|we)\s*(?:'ll|will|'m\s+gonna|'m\s+going\s+to|am\s+going\s+to|are\s+gonna|'re\s+gonna)|(?:till|until|til|when|once)\s+(?:i|we))\s+"
          r"(?:find\s+out|find|get|work\s+out|track\s+down)\s+where\s+(?:you|u|ya|he|she|they|your\s+\w+|ur\s+\w+)\s+"
          r"(?:live|lives|sleep|sleeps|stay|stays|work|works)(?!\w|\s+(?:so|to\s+(?:send|post|deliver|drop)|and\s+(?:send|post|drop)|"
          r"for\s+the|when\s+(?:the|your)\s+(?:parcel|card|letter|delivery)))|"
          r"(?:won'?t|wont|will\s+not|will\s+never)\s+(?:even\s+)?recogni[sz]e\s+(?:you|u|him|her|them)\s+(?:when|after|once)\s+"
          r"(?:i'?m|i\s+am|we'?re|i'?ve|we'?ve|i\s+have|i\s+get|we\s+get)|"
          r"(?:greet|greeted|welcome|welcomed|meet|answer|receive|treat)\s+(?:them|him|her|you|u|em|'em|dem|the\s+\w+|every\s+\w+)\s+"
          r"with\s+(?:bullets|lead|a\s+bullet|machetes|knives|(?:baseball\s+)?bats|guns|a\s+gun|a\s+knife|petrol|a\s+noose|nooses|"
          r"rifles|shotguns|grenades)|"
          r"(?:fill|filled|filling|pump|pumped|pumping)\s+(?:them|him|her|you|u|em|'em|dem|his\s+\w+|their\s+\w+)\s+(?:full\s+)?"
          r"(?:of|with)\s+(?:lead|holes|bullets|buckshot)|"
          r"teach\s+(?:him|her|them|you|u|dem|that\s+\w+)\s+a\s+lesson\s+with\s+(?:a|my|the|his|some)\s+(?:\w+\s+)?(?:bat|knife|"
          r"blade|hammer|brick|crowbar|gun|machete|belt|fists?|boot|bottle|iron\s+bar|pipe)|"
          r"(?:i'?ll|we'?ll|i\s+will|we\s+will|i'?m|we'?re)\s+(?:be\s+)?waiting\s+(?:for\s+(?:you|u|him|her|them)\s+)?(?:\w+\s+){0,3}?"
          r"with\s+(?:a|my|the|some|an)\s+(?:\w+\s+)?(?:hammer|bat|knife|blade|machete|gun|crowbar|brick|shank|axe|pipe|"
          r"shotgun|pistol|bottle)(?!\s+(?:of|and\s+ball|for))|"
          r"regret\s+(?:this|it|that)(?:\s+\S+){0,3}?\s+(?:when|once|while)\s+(?:you'?re|you\s+are|ur|u\s+r|he'?s|she'?s|they'?re)\s+"
          r"(?:lying\s+|left\s+)?(?:bleeding|dying(?!\s+(?:of|to|for|from|inside))|in\s+(?:a&e|hospital|a\s+wheelchair|a\s+body\s*bag|a\s+box))|picking\s+(?:your|ur|his|her|their)\s+teeth\s+(?:up\s+)?"
          r"(?:off|from)\s+the\s+(?:floor|ground|pavement)|"
          r"(?:hope|hoping)\s+(?:you|u|he|she|they)\s+(?:like|likes|enjoy|enjoys)\s+(?:hospital\s+food|wheelchairs?|the\s+taste\s+of\s+"
          r"(?:blood|concrete|steel|the\s+pavement))|"
          r"teach\s+(?:him|her|them|you|u|dem)\s+a\s+lesson\s+(?:he|she|they|you|u)\s+(?:won'?t|will\s+never|wont|ain'?t\s+gonna)\s+forget|"
          r"(?:won'?t|wont|will\s+not)\s+be\s+(?:so\s+)?(?:pretty|handsome|smiling|laughing|talking|cocky|brave)\s+(?:for\s+long\s+)?"
          r"(?:after|when|once)\s+(?:i'?ve|i\s+have|i'?m|we'?ve|we'?re|i\s+get)|"
          r"alone\s+with\s+(?:him|her|them|you|u|that\s+\w+)(?:\s+\S+){0,3}?\s+(?:and|with)\s+(?:a|my)\s+(?:\w+\s+)?(?:bat|knife|"
          r"hammer|crowbar|gun|machete|blade|brick|pipe|iron\s+bar)|"
          r"(?:i|we)\s*(?:'ll|will|'m\s+gonna|'m\s+going\s+to|am\s+going\s+to|\s+will)\s+find\s+(?:your|ur)\s+(?:kids|children|family|"
          r"daughter|son|wife|mum|little\s+\w+)(?!\s*'?s?\s+(?:shoes|toys|coats?|bags?|books?|keys|phone))|"
          r"(?:people|men|women|guys|snitches|grasses|rats|boys|girls|lads)\s+like\s+(?:you|u|him|her|them)\s+(?:always\s+)?"
          r"(?:end\s+up|wind\s+up|turn\s+up)\s+(?:in\s+(?:a\s+|the\s+)?(?:ditch|ditches|hospital|body\s*bags?|graves?|river|canal|"
          r"coffins?|boxes|morgue)|dead)|"
          r"round\s+(?:them|em|'em|dem|the\s+\w+)\s+(?:all\s+)?up\s+(?:and|n|&)\s+(?:\w+\s+){0,2}?(?:put|line|shoot|gas|"
          r"hang|kill|burn|drown|deport\s+and)|(?:put|line|stand)\s+(?:them|em|'em|dem|him|her|you|the\s+\w+|these\s+\w+|those\s+\w+)"
          r"\s+(?:all\s+)?(?:up\s+)?against\s+(?:a|the)\s+wall|"
          r"make\s+(?:you|u|ya|him|her|them|dem|em|'em|your\s+\w+|ur\s+\w+)\s+(?:all\s+)?(?:suffer|bleed|scream|beg\s+for)|"
          r"lock(?:ed)?\s+(?:them|him|her|em|'em|you)\s+(?:all\s+)?in\s+(?:a|the|their|his|her)\s+\w+\s+(?:and|n|&)\s+"
          r"(?:light|burn|set\s+fire|torch|set\s+it\s+(?:alight|on\s+fire|ablaze))|"
          r"(?:acid|petrol|bleach|boiling\s+water)\s+(?:thrown|poured|splashed|chucked)\s+(?:in|on|over|into)\s+(?:their|his|her|your|ur)\s+"
          r"(?:faces?|eyes|heads?)|"
          r"(?:i'?m|we'?re|i\s+am|we\s+are|man'?s)\s+not\s+coming\s+alone|"
          r"keep\s+(?:your|ur|yo)\s+(?:daughter|son|kids|children|wife|missus|girl|family|mum|little\s+\w+)\s+(?:indoors|inside|"
          r"at\s+home|home|locked\s+up|close)|if\s+(?:you|u)\s+know\s+what'?s\s+good\s+for\s+(?:her|him|them|your\s+\w+)|"
          r"with\s+(?:a|my|the|this)\s+(?:knife|blade|bullet|shank|bora|machete|screwdriver)\s+in\s+(?:your|ur|his|her|their)\s+"
          r"(?:gut|guts|back|chest|neck|head|belly|stomach|side|throat|heart|eye)|"
          r"(?:i|we)\s+know\s+(?:when|where|what\s+time)\s+(?:your|ur|you|u)\s+(?:\w+\s+)?(?:finishes|finish|ends|end|starts|leaves|"
          r"leave|gets\s+out|get\s+out|walks?|parks?)|see\s+(?:you|u|ya)\s+in\s+the\s+car\s*park|"
          r"(?:till|until|til)\s+(?:they|he|she|you|u|them|dem)(?:'re|'s|\s+are|\s+is|\s+r)\s+(?:all\s+)?(?:on\s+the\s+(?:floor|ground)|"
          r"dead|bleeding|in\s+(?:a&e|hospital))|"
          r"(?:you'?d|you\s+would|u'?d|he'?d|she'?d|they'?d|ya'?d)\s+(?:already\s+)?be\s+(?:in\s+(?:a&e|a\s+and\s+e|hospital|"
          r"the\s+hospital|a\s+body\s*bag|a\s+box|the\s+ground|a\s+coffin|a\s+wheelchair)|dead|six\s+feet\s+under)|"
          r"(?:keep|carry\s+on)\s+\w+(?:ing|in)(?:\s+\S+){0,4}?\s+(?:and|n|an|&)\s+see\s+what\s+happens|"
          r"(?:to\s+my\s+face|come\s+(?:round|outside|here|down|to\s+\w+))(?:\s+\S+){0,3}?\s+(?:and|n|an|&)\s+see\s+what\s+happens|"
          r"(?:i'?m|we'?re|man'?s|mandem'?s|mandem\s+(?:is|are)|we\s+are|i\s+am|they'?re|they\s+are)\s+(?:\w+\s+)?coming\s+for\s+"
          r"(?:you|u|ya|him|her|them|dem|@[\w.]+|your\s+\w+|ur\s+\w+)(?!\s+(?:for|to)\s+(?:dinner|tea|lunch|drinks|the\s+title))|"
          r"loaded\s+(?:up\s+)?for\s+(?:@[\w.]+|you|u|ya|him|her|them|dem|your\s+\w+|ur\s+\w+)|"
          r"(?:bought|got|copped|sharpened|cleaned|brought)\s+(?:a|the|my|this)\s+(?:\w+\s+){0,2}?(?:knife|blade|shank|bora|"
          r"ching|nank|skeng|machete|rambo|gun|strap|burner|wap|piece|ting|draco|9mm|nine|glock|pistol|shotty|shotgun|"
          r"revolver|mash|bat|hammer|axe|acid)\s+(?:just\s+)?(?:for|4)\s+(?:@[\w.]+|you|u|ya|him|her|them|dem)\b|"
          r"(?:@[\w.]+'?s|(?:his|her|your|ur|yo)(?:\s+\w+)?)\s+name\s+on\s+(?:it|them|this|that)|"
          r"(?:after\s+that|next\s+time|then)\s*,?\s+(?:ur|you'?re|you\s+are|u\s+r|ya|you'?ll\s+be|he'?s|he\s+is|they'?re)\s+"
          r"(?:getting\s+|gonna\s+be\s+|going\s+to\s+be\s+|leaving\s+|going\s+)?(?:" + _PARTICIPLE + r"|ripped|done|finished|"
          r"in\s+an?\s+(?:ambulance|body\s*bag|box|hearse|coffin)|home\s+in\s+an?\s+(?:ambulance|body\s*bag|box))(?!\w)|"
          r"(?:face|head|skull|teeth)\s+(?:is\s+|are\s+)?(?:gonna|going\s+to|will|'ll|about\s+to)\s+meet\s+(?:the|my|this)\s+"
          r"(?:pavement|floor|ground|concrete|curb|kerb|wall|fist|bat|blade|tarmac)|"
          r"(?:gonna|going\s+to|will|'ll|about\s+to|finna|tryna|are\s+gonna)\s+catch\s+(?:a|an|one|that|dat|some|another)\s+"
          r"(?:\w+\s+)?(?:yute|yout|youts|yutes|opp|opps|younger|youngers|pussy|neek|wasteman)\b|"
          r"(?:better|should|need\s+to|needs\s+to)\s+(?:move|get)\s+out\s+(?:of\s+)?(?:the|this|our|my)\s+(?:area|ends|city|town|"
          r"country|estate|block)\s+(?:before|by)\b|"
          r"(?:don'?t|dont|never)\s+let\s+me\s+(?:see|catch)\s+(?:you|u|him|her|ya|yu|them|dem)\s+(?:\S+\s+){0,5}?again\b|"
          r"(?:number\s+(?:of|for)\s+a\s+(?:good\s+)?|call\s+(?:an?|the)\s+|book\s+(?:an?|the)\s+)(?:undertaker|"
          r"funeral\s+director|coroner)|"
          r"(?:can'?t\s+wait\s+to|cant\s+wait\s+to|wanna|want\s+to|gonna|going\s+to|will|'ll)\s+see\s+(?:you|u|him|her|them|"
          r"dem|@[\w.]+|that\s+\w+|your\s+\w+|ur\s+\w+)\s+in\s+(?:a|the|his|her|their)\s+(?:box|coffin|body\s*bag|grave|"
          r"wheelchair|casket|morgue|hearse)|"
          r"(?:mum|mom|mother|mama|family|fam|girl|kids)(?:'s|\s+will|\s+'ll|\s+is\s+gonna|\s+gonna)?\s+(?:be\s+)?(?:crying|cry|"
          r"weeping)\s+(?:at|over)\s+(?:the|his|her|their|your|ur)\s+(?:funeral|grave|graveside|coffin)|"
          r"(?:not|won'?t|ain'?t)\s+(?:gonna\s+|going\s+to\s+)?be\s+a\s+warning\s+shot|"
          r"(?:need|needs|gonna|finna|will|'ll|deserve|deserves|about\s+to|bout\s+to)\s+(?:to\s+)?catch\s+(?:a|an|some)\s+"
          r"(?:beating|bullet|stray|bat|blade|shank|kicking|battering|hiding)\b|"
          r"(?:is\s+)?what\s+(?:you'?ll|you\s+will|u'?ll|you'?re\s+gonna)\s+be\s+when\s+(?:i'?m|i\s+am|we'?re|we\s+are)\s+"
          r"(?:done|finished)\s+with\s+(?:you|u|ya)|"
          r"(?:long|last)\s+night\s+for\s+(?:somebody|someone|some1|you|u|him|them|dem|your\s+\w+|ur\s+\w+)|"
          r"bring\s+me\s+(?:@[\w.]+'?s?|his|her|their|(?:that|the)\s+\w+'s)\s+head|"
          r"the\s+only\s+good\s+(?:\w+\s+){1,2}?(?:is|are)\s+(?:a\s+)?dead\s+(?:one|ones|\w+)|"
          r"(?:want|wanna|need|going|gonna|will|'ll|can'?t\s+wait|cant\s+wait|love)\s+(?:to\s+)?see\s+(?:some\s+)?blood\s+"
          r"(?:on|in|spilt|spilled|spill|run|flow)|there\s+(?:will|'ll|is\s+gonna|is\s+going\s+to)\s+be\s+blood\b|"
          r"(?:a|one|two|few|couple\s+of|some|several|\d+)\s+(?:[\w-]+\s+){0,2}?(?:bullets?|rounds|shots|rope|nooses?|"
          r"gas\s+chambers?|ovens?|machetes?|molotovs?|petrol\s+bombs?)\s+(?:would|will|'d|could|should|might)\s+"
          r"(?:solve|sort|fix|end|settle|take\s+care\s+of)|"
          r"(?:hope|wish|pray)\s+(?:that\s+)?(?:someone|somebody|some1)\s+(?:kills|stabs|shoots|murders|hangs|burns|beats|"
          r"rapes|bombs|ends|runs\s+over|puts)\s+(?:you|u|him|her|them|dem)\b|"
          r"lock(?:ed)?\s+the\s+doors?\s+from\s+the\s+outside|petrol\s+(?:through|in|into)\s+(?:the|their|his|her|your|ur)\s+"
          r"letter\s*box|(?:it'?ll|you'?ll|will)\s+be\s+(?:from|in)\s+a\s+hospital\s+bed|"
          r"shame\s+if\s+(?:you|u|something)\s+(?:were|was|happened)|(?:i'?d|i\s+would)\s+stay\s+(?:indoors|inside|home|in)\s+"
          r"(?:\w+\s+){0,4}?if\s+i\s+(?:were|was)\s+(?:you|u)|(?:i|we)\s+know\s+(?:which|what)\s+(?:car|house|door|gym|shift|street|flat|bus|train|school|route|"
          r"time)\s+(?:you|u|ur|your)|closer\s+than\s+(?:you|u)\s+think|"
          r"make\s+(?:you|u|him|her|them|dem)\s+(?:a\s+|into\s+a\s+)?(?:hashtag|memory|statistic|rip\s+post|t[\W_]*shirt)|"
          r"zip\s+on\s+(?:your|ur|his|her)\s+face|(?:give|leave)\s+(?:you|u|him|her)\s+(?:with\s+)?(?:a\s+)?(?:buck\s*fifty|zip)|"
          r"(?:drive|drove|driving|plough|plow|ploughed|ram|rammed|ran|run|running|steer|steered|smash|smashed)\s+"
          r"(?:a\s+|my\s+|the\s+|his\s+|their\s+)?(?:car|van|truck|lorry|bus|4x4|suv|motor)?\s*"
          r"(?:into|through)\s+(?:that|the|a|those|them)\s+(?:crowd|march|protest|rally|people|mosque|queue|kids)|"
          r"with\s+(?:the\s+)?(?:owner|owners|family|kids|people|them|him|her|you)\s+(?:still\s+)?inside|"
          r"through\s+(?:your|ur|his|her|their)\s+(?:head|skull|chest|heart|neck|face|eye)|"
          r"(?:i'?ll|ima|imma|gonna|will|i\s+will)\s+use\s+(?:it|this|that|them)\s+on\s+(?:you|u|him|her|them|dem)|"
          r"let\s+(?:the|my|dat|that)\s+(?:\w+\s+)?(?:glizzy|choppa|stick|blick|strap|nine|9|ting|wap|gun|mac|draco)\s+"
          r"(?:go|sing|ring|off|rip|loose|bang)|"
          r"(?:the|my|this|that|dat)\s+(?:\w+\s+)?(?:piece|ting|pistol|gun|nine|9|9mm|strap|blade|knife|shank|bora|matic|"
          r"pumpy|sawn\s+off|glizzy|choppa|skeng|burner|wap|blick|stick)(?:'s|\s+is|\s+will\s+be|\s+gonna\s+be)\s+coming\s+out|"
          r"(?:buss|bus|fire|lick)\s+(?:a\s+)?shot\s+(?:inna|in|into)\s+(?:yuh|your|ur|him|dem|her)|"
          r"(?:pure\s+)?blood\s+(?:a\s+go|go|will|gonna|is\s+gonna|shall)\s+(?:be\s+)?(?:run|spill|flow|spilled|spilt|shed)|"
          r"(?:mi|me|we|wi)\s+know\s+weh\s+(?:yuh|you|unu)\s+(?:live|stay|sleep)|"
          r"(?:i'?d|i\s+would|i'?ll|i\s+will)\s+(?:\w+\s+)?pull\s+the\s+trigger(?:\s+(?:myself|on\s+(?:him|her|them|you|"
          r"em|the\s+lot\s+of\s+(?:them|em|you)|every\s+\w+|all\s+of\s+(?:them|you))))|(?:throw|chuck|push)\s+(?:them|him|her|em|'em|you|dem|the\s+lot\s+of\s+(?:them|em|you))\s+(?:all\s+)?(?:off|out\s+of|from)\s+(?:a|the)\s+"
          r"(?:roof|building|bridge|cliff|window|tower|balcony|plane)|let\s+(?:them|him|her|em|'em|dem)\s+(?:all\s+)?"
          r"(?:drown|die|burn|rot|bleed\s+out|starve)|emoji_(?:knife|gun|dagger|bomb)(?:\s+\S+){0,4}?\s+(?:that'?s\s+(?:you|u|the\s+plan\s+for\s+you)|for\s+"
          r"(?:you|u)\b)|=\s*emoji_(?:skull|coffin)|emoji_blood\s+on\s+(?:your|ur)|(?:emoji_target|target)\s+on\s+(?:your|ur)"
          r"\s+(?:back|head)|(?:your|ur)\s+(?:mum'?s\s+)?house\s+(?:is\s+)?(?:first|going\s+(?:up|emoji_\w+)))",
          negatable=False),
    _rule("vt.grammar.better_dead", 0.8,
          "the world would be better if people were dead (\"the world would be better if all X were dead\")",
          r"(?P<verb>(?:world|country|planet|place|everyone|we|things|life|society|britain|england|uk|earth)\s+"
          r"(?:would|will|'d|'ll)\s+be\s+(?:a\s+|so\s+much\s+|much\s+)?better(?:\s+place|\s+off)?\s+(?:if|when|once|without)\s+"
          r"(?:all\s+)?(?:the\s+|these\s+|those\s+|them\s+)?(?:\w+\s+){0,2}?(?:(?:were|are|was|got|get)\s+(?:all\s+)?"
          r"(?:dead|gone|exterminated|wiped\s+out|killed|shot|hanged|gassed|eliminated|eradicated|murdered|slaughtered)"
          r"|(?:died|dead)))"),
    _rule("vt.grammar.wipe_out", 0.8,
          "people wiped off the face of the earth",
          r"(?P<verb>(?:wipe|wiped|wiping|erase|erased|remove|removed|exterminate|eradicate)\s+(?P<target>" + TARGET +
          r")\s+(?:off|from)\s+(?:the\s+)?(?:face\s+of\s+the\s+)?(?:earth|planet|map))"),
    _rule("vt.grammar.wish", 0.7,
          "wishing a person death or violence (\"I hope you die in a fire\", \"I hope someone stabs him\")",
          r"(?:i|we)\s+(?:really\s+|truly\s+|just\s+)?(?:hope|wish|pray)\s+(?:that\s+)?(?P<target>you|u|ya|he|she|they|them|"
          r"y'all|yall|" + _GROUP + r")\s+(?:all\s+)?(?P<verb>die|dies|rot|burn|drown|choke|get\s+(?:" + _PARTICIPLE +
          r")|gets\s+(?:" + _PARTICIPLE + r")|are\s+(?:" + _PARTICIPLE + r")|is\s+(?:" + _PARTICIPLE + r"))(?!\w)"),
    _rule("vt.grammar.particle", 0.75,
          "intent or a call to attack, with the person between the verb and its particle (\"run them over\", \"knock him out\")",
          r"(?:(?P<modal>" + _MODAL + r"|(?:i|we)\s*(?:'m|'re|\s+am|\s+are)|im)" + _G +
          r"(?P<neg>(?:(?:never|not|n't|nt)" + _G + r")*)" + _OPT_ADV +
          r"|(?:(?<=^)|(?<=[.!?;:\n\"“(,])\s*|(?<=\s)(?=(?:go|just|pls|please|so|now|then|and|lads|boys|guys)\s))"
          r"(?:(?:go|just|pls|please|so|now|then|and|lads|boys|guys)\s+)*)"
          r"(?P<verb>do(?=\s+\S+\s+(?:in|over)(?!\w))|run|knock|beat|smash|cut|chop|fuck|mess|rough|bash|cave|light|blow|mash|rip|wipe|hunt|gun|mow|"
          r"string|burn|shoot|stab|slice|running|knocking|beating|smashing|cutting|chopping|bashing|lighting|blowing|"
          r"ripping|hunting|burning|shooting|stabbing|slicing)\s+(?P<target>" + TARGET + r")\s+"
          r"(?:all\s+)?(?:over|out|up|in(?!\s+(?:the|a|an|this|that|their|his|her|your|ur|my|our|every|each|\d|round|game|match|"
          r"final|race|court|quiz|chess|fifa|cod))|down|off|apart|to\s+pieces|to\s+shreds)(?!\w)"),
    _rule("vt.grammar.shoot_up", 0.75,
          "shooting up or lighting up a person's home, car or party (\"ima air his whole car out\")",
          r"(?P<verb>air|light|shoot|spray|lit|blast|riddle)\s+(?:his|her|their|your|ur|yo|dem|the|that)\s+(?:whole\s+)?"
          r"(?P<target>car|house|crib|porch|block|whip|spot|party|cookout|function|yard|door|window|windows)\s+"
          r"(?:out|up)(?!\w)|(?P<verb2>shoot|shooting|light|lighting|spray|spraying|air|airing)\s+(?:up|out)\s+(?:the|his|their|"
          r"that|dat|your|ur)\s+(?:whole\s+)?(?:cookout|party|function|block|school|club|house|crib|place|spot|yard|car|whip)"),
    _rule("vt.grammar.body_passive", 0.75,
          "a person is going to have a body part broken (\"Kian's getting his wig split next time I see him\")",
          r"(?:'s|\s+is|\s+are|'re)\s+(?:gonna\s+|going\s+to\s+)?(?:be\s+)?(?:getting|gonna\s+get|going\s+to\s+get)\s+"
          r"(?P<target>(?:his|her|their|your|ur|dem)\s+(?:\w+\s+)?" + _BODY + r")\s+(?P<verb>split|cracked|smashed|broken|"
          r"kicked\s+in|caved\s+in|bashed\s+in|cut|slit|opened\s+up|stamped\s+on|knocked\s+out|taken\s+off|blown\s+off)(?!\w)"),
    _rule("vt.grammar.call_to", 0.75,
          "a call to start attacking people (\"time to start shooting these vermin\")",
          r"(?:time\s+to|it'?s\s+time\s+to|high\s+time\s+(?:we|to)|let'?s|lets|we\s+(?:need|have|ought)\s+to|start)\s+"
          r"(?:start\s+|go\s+)?(?P<verb>killing|shooting|stabbing|hanging|lynching|burning|gassing|bombing|"
          r"murdering|slaughtering|exterminating|executing|beating|butchering)\s+(?P<target>" + TARGET + r")"
          r"|(?:time\s+to|it'?s\s+time\s+to|let'?s|lets|(?:i|we)'?m?\s+(?:gonna|going\s+to)\s+(?:be\s+)?|start)\s+(?:start\s+|go\s+)?"
          r"(?P<verb3>cracking|crack|smashing|smash|bashing|bash|kicking|kick|caving|cave|breaking|break|splitting|split)\s+"
          r"(?:in\s+)?(?:some\s+|a\s+few\s+|their\s+|dem\s+)?(?P<target3>skulls|heads|faces|kneecaps|jaws|legs)(?:\s+in)?(?!\w)"
          r"|(?:time\s+to|it'?s\s+time\s+to|high\s+time\s+(?:we|to)|(?:solution|answer|only\s+way|only\s+option|plan|way\s+forward|"
          r"thing\s+to\s+do)\s+(?:is|would\s+be)\s+to|(?:good|great|best|better)\s+idea\s+(?:is\s+)?to)\s+(?:just\s+|simply\s+|finally\s+)?"
          r"(?P<verb2>kill|shoot|stab|hang|lynch|burn|gas|bomb|murder|slaughter|exterminate|execute|butcher|eliminate|eradicate|"
          r"wipe\s+out|massacre|behead|drown|nuke|poison|string\s+up|round\s+up\s+and\s+shoot)\s+(?P<target2>" + TARGET + r")"),
    _rule("vt.grammar.why_not", 0.75,
          "a call to attack people as a question (\"why don't we just shoot them all?\")",
          r"why\s+(?:don'?t|dont|do\s+not|not)\s+(?:we|you|they|someone|somebody|the\s+\w+)?\s*(?:just\s+|simply\s+)?"
          r"(?P<verb>" + _VERB_STRONG + r")\s+(?P<target>" + TARGET_OR_BODY + r")"),
    _rule("vt.grammar.slide", 0.75,
          "announces a raid on a named person in drill slang (\"we finna slide on Dre tonight\")",
          r"(?P<modal>finna|gonna|gon|will|'ll|bout\s+to|about\s+to|tryna|going\s+to|let'?s|lets|ima|imma)\s+"
          r"(?P<verb>slide|spin|slidin|sliding|spinning)\s+(?:on|onto)\s+"
          r"(?P<target>(?!(?:the|a|an|my|it|this|that|ice|snow|water|stage|top|them\s+tracks|beat|beats|track|tracks|riddim)\b)"
          r"@?[\w.]+)"),
    _rule("vt.grammar.wish_other", 0.7,
          "wishing that someone else attacks a person (\"I hope someone slits your throat\")",
          r"(?:hope|hoping|wish|wishing|pray|praying|can'?t\s+wait\s+(?:till|until|for\s+the\s+day))\s+(?:that\s+)?"
          r"(?:someone|somebody|some1|some\s+\w+|one\s+day\s+someone|they|the\s+\w+|a\s+\w+|he|she)\s+"
          r"(?:(?:will|'ll|finally|actually|just)\s+)?"
          r"(?P<verb>kills?|murders?|stabs?|shoots?|slits?|strangles?|hangs?|burns?|beats?|rapes?|bombs?|lynch(?:es)?|"
          r"tortures?|executes?|drowns?|poisons?|shanks?|knifes?|butchers?|slaughters?|cuts?|breaks?|snaps?|smash(?:es)?|"
          r"chops?|batters?|glass(?:es)?|runs?\s+over|guns?\s+down|blows?\s+up|sets?\s+fire\s+to|caves?\s+in|"
          r"kicks?\s+in|beheads?|guts?|ends?|finish(?:es)?\s+off|puts?\s+a\s+bullet\s+in|throws?\s+acid\s+(?:at|on|in))"
          r"\s+(?P<target>" + TARGET_OR_BODY + r")"),
    _rule("vt.grammar.want_dead", 0.75,
          "wanting a person or group dead (\"I want him dead\", \"I want every one of them dead\")",
          r"(?P<modal>(?:i|we|i\s+just|we\s+just|i\s+really|we\s+all)\s+(?:want|wanted|need|'d\s+like|would\s+like|'d\s+love|would\s+love)|"
          r"(?:i|we)'?d\s+(?:like|love)\s+to\s+see)\s+(?P<target>" + TARGET + r")\s+(?:all\s+)?"
          r"(?P<verb>dead|killed|shot|hanged|hung|executed|six\s+feet\s+under|in\s+(?:a|the)\s+(?:ground|grave|box|coffin|body\s*bag))"
          r"(?!\w)"),
    _rule("vt.grammar.wish_accident", 0.7,
          "wishing that a vehicle hits a person or group (\"I hope your kids get hit by a car\", \"I pray a lorry hits them\")",
          r"(?:hope|hoping|wish|wishing|pray|praying)\s+(?:that\s+)?"
          r"(?:(?P<target>" + TARGET + r"|you|u|he|she|they|your\s+\w+|ur\s+\w+|his\s+\w+|her\s+\w+)\s+(?:all\s+)?(?:gets?|get|are|is|will\s+get)\s+"
          r"(?P<verb>hit|run\s+over|mown\s+down|flattened|knocked\s+down|crushed)\s+by\s+(?:a|an|the|some)\s+(?:\w+\s+)?"
          r"(?:car|bus|lorry|truck|train|tram|van|tractor|driver)"
          r"|(?:a|the|some)\s+(?:\w+\s+)?(?:car|bus|lorry|truck|train|tram|van|driver)\s+(?P<verb2>hits|runs\s+over|flattens|mows\s+down|"
          r"ploughs\s+(?:into|through)|crushes|smashes\s+into)\s+(?P<target2>" + TARGET + r"|your\s+\w+|ur\s+\w+|his\s+\w+|her\s+\w+))(?!\w)"),
    _rule("vt.grammar.armed_to", 0.75,
          "announces bringing a weapon to a school, workplace or gathering (\"I'm bringing a gun to school tomorrow\")",
          r"(?P<modal>(?:i|we)\s*(?:'m|'re|\s+am|\s+are|'ll|\s+will|\s+m)(?:\s+(?:gonna|going\s+to|about\s+to))?|"
          r"im(?:\s+(?:gonna|going\s+to))?|ima|imma|i'ma|gonna|finna)\s+(?P<neg>(?:not|never|n't)\s+(?:(?:gonna|going\s+to)\s+)?)?"
          r"(?:(?!not\b|never\b)\w+\s+)?"
          r"(?P<verb>bring|bringing|take|taking|carry|carrying)\s+(?:a|my|the|his|dad'?s|my\s+dad'?s|an)\s+(?:\w+\s+)?"
          r"(?P<target>gun|guns|rifle|shotgun|pistol|glock|ak|ak47|ar15|knife|machete|bomb|weapon|weapons|nine|9mm|"
          r"strap|blade|axe|pipe\s+bomb|explosives?)\s+(?:to|into|in\s+to|in)\s+"
          r"(?:school|class|college|uni|work|church|mosque|synagogue|temple|(?:the|my|our|this|that)\s+"
          r"(?:school|class|office|party|match|game|march|rally|protest|church|mosque|synagogue|concert|club|mall|"
          r"shopping\s+centre|meeting|lecture|assembly|prom))"),
    _rule("vt.grammar.kill_yourself", 0.6,
          "telling a person to kill themselves",
          r"(?P<verb>(?:go\s+)?(?:kill|hang|shoot|neck|off)\s+(?:yourself|urself|ur\s+self|your\s+self|yourselves|yaself|"
          r"yoself)|kys)(?!\w)"),
)


_LABELS = {
    "vt.grammar.intent": "announced intent to attack a person",
    "vt.grammar.imperative": "call to attack a person",
    "vt.grammar.normative": "says people should be attacked",
    "vt.grammar.should_die": "says people should die",
    "vt.grammar.body_harm": "threat to injure a person",
    "vt.grammar.question": "threat phrased as a question",
    "vt.grammar.passive_future": "says a person will be attacked",
    "vt.grammar.will_die": "says a person will die",
    "vt.grammar.put_in": "threat to shoot or stab a person",
    "vt.grammar.aim_for": "instruction to aim at a person",
    "vt.grammar.burn_down": "threat to burn or bomb people's homes",
    "vt.grammar.you_are_dead": "tells a person they are marked",
    "vt.grammar.progressive": "announced plan to attack a person",
    "vt.grammar.intent_gap": "announced intent to attack a person",
    "vt.grammar.put_away": "threat to kill or injure a person",
    "vt.grammar.question2": "threat phrased as a question",
    "vt.grammar.implicit": "threat in a set phrase",
    "vt.grammar.better_dead": "says the world would be better with people dead",
    "vt.grammar.wipe_out": "calls for people to be wiped out",
    "vt.grammar.wish": "wishes a person death or violence",
    "vt.grammar.particle": "intent or call to attack a person",
    "vt.grammar.call_to": "call to start attacking people",
    "vt.grammar.shoot_up": "threat to shoot up a person's home, car or party",
    "vt.grammar.body_passive": "says a person will have a body part broken",
    "vt.grammar.kill_yourself": "tells a person to kill themselves",
    "vt.grammar.wish_other": "wishes that someone attacks a person",
    "vt.grammar.slide": "announces a raid on a person",
    "vt.grammar.why_not": "call to attack people, as a question",
    "vt.grammar.armed_to": "announces bringing a weapon to a school or gathering",
    "vt.grammar.want_dead": "wants a person dead",
    "vt.grammar.bomb_area": "calls to bomb the places where people live",
    "vt.grammar.clause": "call for violence against a person",
    "vt.grammar.wish_accident": "wishes that a vehicle hits a person",
}

#: Participles that are violent only in street slang ("he's getting wet", "opps will get bored") and
#: everyday words otherwise ("the kids will get wet if it rains", "you'll get bored"): a threat
#: built on one of them needs a street-slang or violent cue somewhere in the post (``_STREET_CUE``).
_SLANG_ONLY = {"wet", "wetted", "bored", "dipped", "splashed", "bun", "bunned", "lit up",
               "opened up", "rushed", "slumped", "clapped", "cheffed", "blasted", "bodied", "bussed", "duppied",
               "capped", "sprayed", "smoked out", "done in", "a body", "it"}
_STREET_CUE = re.compile(
    r"(?<![^\W_])(?:opps?|oppz|yutes?|youts|mandem|man'?s|waste\s*man|pussy|pussio|on\s+sight|lacking|lackin|slipping|"
    r"broad\s+day|ting|skeng|bora|shank|nank|strap|strapped|wap|ends|block|bloc|trap\w*|postcode|gang|drill|"
    r"blud|bruv|cuz|ur\s+man|your\s+man|that\s+boy|dem|on\s+my\s+mum|swear\s+down|wallahi|snitch\w*|rat|"
    r"violat\w*|beef|smoke|sight|kill|stab|shoot|knife|blade|gun|dead|die|opp|emoji_(?:knife|dagger|gun|blood|skull|"
    r"coffin|bomb|ninja|ambulance|swords|explosion|target)|every\s+(?:single\s+)?one\s+of|one\s+by\s+one|no\s+exceptions|"
    r"youngers|olders|crew|the\s+boys|(?:come|comes|coming)\s+back|mark\s+my\s+words|or\s+(?:sum|sumn|something|what|nah))"
    r"(?![^\W_])|@\w|😈|👿|🤫|🥷|🩸")

#: Present participles of the weak verbs: "I'm cutting you off" and "I'm taking you serious" are
#: not threats; "I'm cutting his throat" and "I'm beating her ass" are (the weak-verb frame check).
_WEAK_ING = {"cutting", "taking", "doing", "ending", "finishing", "dropping", "popping", "putting", "spraying", "blasting",
             "clapping", "bashing", "hacking", "chopping", "boring", "poking", "burying", "lighting up", "opening up",
             "smashing", "beating", "hurting", "breaking", "snapping", "kicking", "punching", "slapping", "dragging",
             "choking", "bodying", "wetting", "dipping", "splashing", "cheffing", "bussing", "hitting"}
_HYPERBOLE_AFTER = re.compile(
    r"\s+for\s+(?:a|an|some|one|another|my)\s+(?:\w+\s+)?(?:pint|coffee|beer|drink|burger|kebab|pizza|curry|cuppa|tea|nap|"
    r"sleep|holiday|cigarette|fag|snack|bite|takeaway|chippy|maccies|mcdonalds|greggs|sausage\s+roll|lie\s+in|day\s+off|"
    r"cold\s+one|bacon\s+sarnie|sandwich)\b")
#: A threat asked as a question and answered no straight after ("kick his teeth in? nah, we just want him banned").
_ANSWERED_NO = re.compile(r"[^.!?\n]{0,40}\?+\s*(?:no|nope|nah|of\s+course\s+not|absolutely\s+not|hell\s+no)\b")
_SHOOT_VERBS = {"shoot", "shot", "shooting", "shoot up"}
_PHOTO = re.compile(r"(?<![^\W_])(?:cameras?|photos?|photograph\w*|pics?|lens(?:es)?|portraits?|selfies?|filming|footage|headshots?|"
                    r"tripod|shutter|dslr|iphone|studio|photoshoot)(?![^\W_])")


# ------------------------------------------------------------------------------------ clause level
# The rules above read a threat as a sequence of parts; comments that call for violence against
# people often put the same parts in an order nobody listed ("Give me five minutes with that
# rapist and a pair of pliers", "Let the crows pick at their corpses"). This last rule only asks
# whether ONE short sentence holds all three: a call, wish or intent (an imperative opening it,
# "should", "deserve", "I'd love", "hope", "we will", "let's", "would solve"); after it, a violent
# act or instrument; and a person or group between the call and just after the act. Negated,
# reported and figurative sentences ("kill it", "bullet journal", "on fire") do not count.
_CL_ACT_SRC = (r"kill|killed|killing|murder|murdered|murdering|slaughter(?:ed|ing)?|massacred?|exterminat\w+|lynch(?:ed|ing)?|"
       r"behead(?:ed|ing)?|tortur(?:e|ed|ing)|execut(?:e|ed|ion|ions)|hanged|shoot|shot|stab(?:bed|bing)?|strangl\w+|"
       r"drown(?:ed)?(?!\s+out)|burn(?:ed|t)?\s+alive|grenades?|snipers?|rifles?|bullets?|petrol|gasoline|acid|nooses?|machetes?|"
       r"pliers|pitchforks?|corpses?|brains\s+(?:on|all\s+over|across|splattered|blown)|bloodbath|blood|pieces|wiped\s+out|wipe\s+(?:them\s+|em\s+)?out|cleanse|gassed|"
       r"boot\s+to\s+the\s+(?:face|head)|beaten|skulls?|throats?|firing\s+squad|fed\s+to\s+the|crucif\w+|castrat\w+|"
       r"dismember\w*|decapitat\w+|maim(?:ed)?|mutilat\w+|napalm|shotguns?|pistols?|knives|knife|guns?|rope|hammers?|"
       r"baseball\s+bats?|crowbars?|bats|bricks?|torches|flames|fire|bombs?|petrol\s+bombs?|hammer|batons?|guillotines?|"
       r"knee\s+to\s+the\s+(?:face|head)|graves|machine\s+guns?|set\s+alight|alight|work\s+(?:him|her|them)\s+over|"
       r"hold\s+(?:them|him|her)\s+under|cattle\s+trucks?|(?:the\s+)?camps|orders\s+to\s+shoot|(?:drive|run|ride)\s+over|"
       r"better\s+off\s+dead|alive|taste\s+of\s+(?:his|her|their)\s+own\s+\w+|dark\s+alley|take\s+(?:them|him|her|em|'em)\s+out|"
       r"between\s+(?:his|her|their|your)\s+eyes|in\s+the\s+face|to\s+the\s+face|to\s+die|in\s+the\s+ground|"
       r"in\s+(?:a|the)\s+(?:sack|ditch|canal|river|grave|desert)|poison(?:ed)?|gouge\w*|kneecap\w*|(?:railway|train)\s+tracks|"
       r"to\s+the\s+(?:pigs|dogs|sharks|lions|wolves)|string\s+(?:\w+\s+){1,3}?up|off\s+the\s+top\s+of|through\s+(?:the|his|her|their)\s+window|"
       r"sink\s+(?:it|them)|teeth\s+in|(?:turn|turns)\s+the\s+gas\s+on|eyes\s+out|throats?\s+(?:cut|slit)|in\s+the\s+back\s+of\s+the\s+head")
_CL_ADV_SRC = (r"should|shud|must(?!\s+(?:be|have\s+been)\s+(?:the|a|an|so|really|nice|good|mad|crazy|joking|hard|tough|fun|great|lovely)\b)|need(?:s)?\s+to|needs|deserve[sd]?|ought\s+to|have\s+to|has\s+to|gotta|got\s+to|"
       r"(?:i'?d|i\s+would|would|we'?d)\s+(?:love|like|pay|happily|gladly)|hope|hoping|wish|pray|"
       r"(?:i|we)(?:'ll|\s+will|'m\s+gonna|\s+am\s+gonna|\s+are\s+gonna|'re\s+gonna|\s+shall|\s+gonna)|gonna|finna|ima|imma|"
       r"let'?s|lets|time\s+to|time\s+for|(?:would|will|could)\s+(?:solve|fix|sort)|(?:is|are)\s+cheaper\s+than|"
       r"(?:only|best|real)\s+(?:answer|solution|cure|way)|give\s+me|i'?d|we'?d|i\s+would|we\s+would|"
       r"(?:is|are|'s|'re)\s+(?:getting|gonna\s+get|going\s+to\s+get)|(?:someone|somebody)\s+(?:get|give|take|grab|bring)|"
       r"open\s+season\s+on|answer\s+to\s+(?:these|those|them|the)\s+\w+(?:\s+\w+)?\s+(?:is|=)|(?:the\s+)?right\s+idea|make\s+(?:them|him|her)|happy\s+to\s+help|"
       r"(?:should|must)\s+bring|bring\s+back")
_CL_IMP_SRC = (r"let|shove|give|grab|drag|round|throw|put|feed|hang|crucify|lock|line|burn|shoot|kill|cut|tie|send|make|stab|gas|"
       r"bomb|nuke|torch|beat|break|smash|string|drown|execute|lynch|behead|castrate|stone|whip|chop|slit|slap|punch|kick|"
       r"bury|push|chuck|pour|set|blow|run|wipe|cleanse|exterminate|slaughter|murder|feed|skin|gut|hunt|round|gouge|kneecap|"
       r"poison|chain|open\s+fire|strangle|stab|slit|torture|hang|smash|cave|knock")
_CL_TGT_SRC = (r"(?:him|her|them|they|you|u|their|his|dem|em|'em|y'?all|ya|every\s+(?:single\s+|last\s+)?one|the\s+lot)(?![^\W_])|"
               r"(?:these|those|all\s+the|all)\s+(?:\w+\s+)?\w+(?:s|men|people|folk|kind|scum|trash|filth|vermin)(?![^\W_])|"
               r"(?:that|this)\s+(?:\w+\s+)?(?:guy|man|woman|bitch|cunt|prick|rapist|paedo|pedo|nonce|bastard|kid|girl|boy|lad|bloke|"
               r"traitor|scumbag|thug|rat|snitch|judge|mp|politician)(?![^\W_])")
_CL_FIGURATIVE = re.compile(r"(?<![^\W_])(?:kill(?:ed|ing)?\s+(?:it|for|time|me|myself)|shot\s+of|shoot\s+(?:me|my|your|ur)\s+(?:a\s+)?(?:shot|message|text|dm|email)|"
                   r"bullet\s+(?:points?|journal|proof|train)|blood\s+(?:orange|test|donor|pressure|sugar|type|moon|bank)|"
                   r"pieces\s+of\s+(?:cake|art|advice|work|shit|paper)|acid\s+(?:test|house|jazz|reflux)|on\s+fire|fire\s+(?:alarm|drill|brigade|station|fighter)|"
                   r"(?:camp|bon)fire|fire\s+emoji|in\s+pieces\s+laughing|knife\s+and\s+fork|guns?\s+(?:show|blazing)|"
                   r"brains?\s+(?:out|storm)|mind|jump\s+the\s+gun|cut\s+(?:me|him|her|them)\s+(?:off|some\s+slack)|"
                   r"throat\s+(?:sweets?|lozenges?|infection)|sore\s+throat|skull\s+emoji|rope\s+(?:swing|in)|bats\s+and\s+balls|cricket|baseball|nerf|paintball|airsoft|laser\s+tag|"
                            r"kill\s*streaks?|attempted\s+murder|kill\s+(?:yo|your|ur|the|my|his|her)\s+(?:vibe|mood|buzz|joy)|shoot\s+(?:my|your|his|her)\s+shot|in\s+the\s+face\s+of|"
                            r"(?:fire|alight)\s+with\s+(?:joy|passion|love|excitement))(?![^\W_])")
_CL_SENT = re.compile(r"[^.!?\n;]+")
_CL_COMMA = re.compile(r",\s*")
_CL_ACT = re.compile(r"(?<![^\W_])(?<!emoji_)(?:" + _CL_ACT_SRC + r")(?![^\W_])")
_CL_ACT_GATE = compile_folded(r"(?<![^\W_])(?<!emoji_)", _CL_ACT_SRC, r"(?![^\W_])")
_CL_ADV = compile_folded(r"(?<![^\W_])", _CL_ADV_SRC, r"(?![^\W_])")
_CL_IMP = re.compile(r"^\W*(?:(?:just|so|now|then|and|honestly|seriously|fucking|fuckin|pls|please|someone|somebody|go|lads|"
                     r"boys)\s+)*(?:" + _CL_IMP_SRC + r")\b")
_CL_TGT = re.compile(r"(?<![^\W_])(?:" + _CL_TGT_SRC + r"|(?:" + TARGET + r")(?![^\W_])|(?:the|that|their|this|our|your)\s+(?:local\s+)?"
                     r"(?:mosques?|church|churches|synagogues?|temples?|gurdwaras?|schools?|march|protest|rally|crowd|"
                     r"refugee\s+\w+|asylum\s+\w+|camp|estate)(?![^\W_]))")
_CL_NO_SUBJECT = re.compile(r"\W*(?:no|nobody|no\s+one|noone|none|never)\b")
CLAUSE_RULE = GrammarRule("vt.grammar.clause", 0.7,
                          "one short sentence holds a call or wish, a violent act or weapon, and a person or group",
                          Gated(_CL_ACT.pattern), True)
assert CLAUSE_RULE.id not in {r.id for r in GRAMMAR_RULES}


def _clause_hits(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, act)`` of each sentence of ``text`` that holds all three parts (see above)."""
    out = []
    for sm in _CL_SENT.finditer(text):
        sent = sm.group(0)
        acts = list(_CL_ACT.finditer(sent))
        if not acts or len(sent.split()) > 30:
            continue
        imp = _CL_IMP.match(sent) or next((m for m in (_CL_IMP.match(sent, c.end()) for c in _CL_COMMA.finditer(sent)) if m), None)
        adv = imp or _CL_ADV.search(sent)
        if adv is None:
            continue
        first = adv.start()
        act = next((a for a in acts if a.start() >= first), None)
        if act is None:
            continue
        if not (_CL_TGT.search(sent, first, min(len(sent), act.end() + 15))
                or (not imp and _CL_TGT.search(sent, 0, first))):
            continue
        if _CL_NO_SUBJECT.match(sent) or _CL_FIGURATIVE.search(sent) or _HYPERBOLE_AFTER.search(sent) or (
                act.group(0) in _SHOOT_VERBS and _PHOTO.search(sent)):
            continue
        out.append((sm.start() + first, sm.start() + act.end(), re.sub(r"\s+", " ", act.group(0))))
    return out


def _sentence_end(text: str, end: int) -> int:
    ends = [i for i in (text.find(c, end) for c in ".!?\n") if i >= 0]
    return min(ends) if ends else len(text)


_SLANG_CHECK_RULES = {"vt.grammar.normative", "vt.grammar.passive_future", "vt.grammar.wish", "vt.grammar.question"}
_WEAK_CHECK_RULES = {"vt.grammar.why_not", "vt.grammar.intent", "vt.grammar.imperative", "vt.grammar.question", "vt.grammar.intent_gap",
                     "vt.grammar.progressive"}


#: Acts that sport, gaming and kitchen talk never use figuratively ("we killed them 4-0" is
#: banter, "the ref ought to be stabbed" is not): a threat with one of these keeps its score
#: next to a sport, gaming, cooking or legitimate-use cue (news, fiction and prevention still apply).
LITERAL_ACTS = re.compile(r"(?:stab|stabbed|stabbing|shank|shanked|slash|slashed|slit|acid|behead\w*|rape\w*|lynch\w*|"
                          r"burn\w*\s+alive|petrol|throat\w*|machete|knifed|chinged|ching|ching'd|juked|jooked|"
                          r"cut\s+(?:his|her|their|your)\s+throat)$")


def _verb_of(m: re.Match[str]) -> str:
    for name in ("verb", "verb2", "verb3", "verb4"):
        try:
            v = m.group(name)
        except IndexError:
            continue
        if v:
            return re.sub(r"\s+", " ", v)
    return m.group(0)


def _target_of(m: re.Match[str]) -> str | None:
    try:
        return m.group("target")
    except IndexError:
        return None


def _clause_start(text: str, pos: int) -> int:
    start = 0
    for cm in _CLAUSE_BREAK.finditer(text, 0, pos):
        start = cm.end()
    return start


def _inner(rx: re.Pattern[str]) -> str:
    r"""The alternation of a cue list written ``(?:^|\W)(?:...)(?=\W|$)``."""
    src = rx.pattern
    if not (src.startswith(r"(?:^|\W)(?:") and src.endswith(r")(?=\W|$)")):
        raise ValueError(f"a cue list must be written (?:^|\\W)(?:...)(?=\\W|$): {src[:40]}")
    return src[len(r"(?:^|\W)"):-len(r"(?=\W|$)")]


#: Per-text prechecks (each post's text is asked about once per hit, and slang posts have many):
#: a negation word with a non-word character or the start before it; any word of a reporting or
#: condemning cue anywhere, even split by the threat ("how ... can"), or an attribution dash.
#: Without them, ``negated`` and ``reported`` are False wherever they are asked.
_NEG_ANYWHERE = folded(re.compile(r"(?:^|\W)" + _inner(_NEG)))
_CUE_ANYWHERE = folded(re.compile(re.sub(r"\\s[+*]", r"[\\s\\S]*", _inner(_REPORT) + "|" + _inner(_CONDEMN))))


@functools.lru_cache(maxsize=256)
def _no_negation(text: str) -> bool:
    return _NEG_ANYWHERE.search(text) is None


@functools.lru_cache(maxsize=256)
def _no_report_cue(text: str) -> bool:
    return _CUE_ANYWHERE.search(text) is None and not any(d in text for d in "-–—~")


def answered_no(text: str, end: int) -> bool:
    """The words ending at ``end`` are a question answered no at once ("shoot every looter? No.")."""
    return "?" in text and _ANSWERED_NO.match(text, end) is not None


def negated(text: str, start: int) -> bool:
    """A negation in the few words before ``start``, in the same clause (see module docstring)."""
    if _no_negation(text):
        return False
    clause = text[_clause_start(text, start):start]
    words = clause.split()
    window = " ".join(words[-NEGATION_WINDOW_WORDS:])
    if not window:
        return False
    if _NEG_EXEMPT.search(window):
        return False
    neg = [m.start() for m in _NEG.finditer(" " + clause)]
    if neg and re.search(r"(?:^|\W)(?:if|unless|until|till|til|or\s+else)\W", " " + clause[:max(0, neg[-1])] + " "):
        return False                    # "if u dont delete that video im gonna stab u": a condition
    return _NEG.search(" " + window) is not None


_SQ_OPEN = re.compile(r"(?:^|(?<=[\s(\[:,]))'(?=\w)")
_SQ_CLOSE = re.compile(r"(?<=[\w.!?])'(?=[\s.,!?;:)\]]|$)")


def _in_single_quotes(text: str, start: int, end: int) -> bool:
    """``[start, end)`` lies between an opening ``'`` (after a space) and a closing one (before
    a space or punctuation); apostrophes inside words (``i'll``, ``don't``) are neither."""
    opens = [m.start() for m in _SQ_OPEN.finditer(text, 0, start + 1)]
    if not opens:
        return False
    o = opens[-1]
    if any(o < c.start() < start for c in _SQ_CLOSE.finditer(text, o + 1, start)):
        return False
    return _SQ_CLOSE.search(text, max(end - 1, o + 1)) is not None


def reported(text: str, start: int, end: int, *, quoted_only: bool = False) -> bool:
    """Someone else's words: quoted with a reporting or condemning frame, or reported/condemned in its sentence.

    ``quoted_only``: only the first (quoted words framed as reported or condemned), for the
    categories where "my plug says new packs landed" is still an advert.
    """
    if _no_report_cue(text):
        return False
    before = text[:start]
    inside_quote = sum(before.count(q) for q in _QUOTES) % 2 == 1 or _in_single_quotes(text, start, end)
    sentence_start = max(before.rfind(c) for c in ".!?\n") + 1
    sentence_end = _sentence_end(text, end)
    lead = text[sentence_start:start]
    if inside_quote or (start > 0 and text[start - 1] in "'" and "'" in text[end:end + 2]):
        outside = text[:start] + " " + text[end:]
        close = min([i for i in (text.find(q, end) for q in _QUOTES + "'") if i >= 0] or [len(text)])
        if re.match(r"\s*[-–—~]+\s*[a-z@]", text[close + 1:close + 6]):
            return True                 # '"..." - my grandad': attributed to someone else
        return bool(_REPORT.search(outside) or _CONDEMN.search(outside))
    if quoted_only:
        return False
    if re.search(r"(?:^|\W)(?:i|we)\s+(?:said|say|swear|promise|told\s+(?:you|u|him|her|them))\s*$", lead):
        return False                     # "i said i'll kill you": the speaker's own threat
    if re.match(r"\W*(?:keep|carry\s+on|go\s+on)\s+\w+ing\b", lead):
        return False                     # "keep posting my business and see what happens": a warning
    rm = _REPORT.search(lead)
    if rm and not re.search(r"(?:^|\W)(?:who|whoever|anyone|anybody|if\s+\w+|person|one|man)\s*$", lead[:rm.start() + 1]):
        return True                      # "next person who says that word to me is getting...": a condition, not a report
    tail = text[end:sentence_end]
    return bool(re.search(r"^\W*(?:is|are|was|were|'s|=)\s+(?:\w+\s+){0,3}?", tail) and _CONDEMN.search(tail))


_ANIMALS_AND_THINGS = frozenset(
    "dogs cats foxes pigeons badgers deer wolves sharks snakes mice pests weeds trees bees wasps squirrels seagulls "
    "bulls cattle cows horses sheep chickens birds fish flies slugs snails moles rabbits crows magpies geese ducks "
    "plants bugs ants spiders cockroach mosquitoes ticks fleas lice germs bacteria viruses cells tumours".split())


def _subject_is_person(subject: str) -> bool:
    s = subject.strip().split()
    while len(s) > 1 and s[-1] in {"all", "both", "each", "just", "really", "honestly", "literally", "fucking"}:
        s.pop()                         # "they all deserve to be stabbed"
    if not s:
        return False
    if re.search(r"(?:^|\s)(?:" + _PERSON_NOUNS + r"|people|anyone|anybody|everyone|those)\s+(?:who|that)\b", subject):
        return True                     # "women who do that should be stoned"
    last = s[-1]
    if len(s) >= 2 and s[-2] == "the" and last in {"homeless", "poor", "rich", "disabled", "elderly", "unemployed",
                                                   "old", "sick", "weak", "jewish", "gay", "trans", "foreign"}:
        return True                     # "the homeless should be rounded up and gassed"
    if re.fullmatch(r"(?:" + _PRONOUN + r"|they|he|she|we|them|dem|people|folk|folks|lot|" + _PERSON_NOUNS + r")",
                    last):
        return True
    if last in _ANIMALS_AND_THINGS:
        return False                    # "all dogs should be euthanised", "the weeds need killing"
    if re.fullmatch(_QUANT_AGENT, " ".join(s[-3:])) or re.fullmatch(_QUANT_AGENT, " ".join(s[-2:])):
        return True                     # "every rapist should be tortured to death"
    if last.endswith("s") and len(last) > 3 and len(s) >= 2 and s[-2] in {
            "all", "the", "these", "those", "them", "dem", "every", "some", "most", "any"}:
        return not re.fullmatch(r"\w+(?:ness|ss|us|is)", last)
    return bool(re.search(r"(?:all|every\s*(?:one|single\s+one|last\s+one))\s+of\s+(?:them|you|those|these|dem|\w+s)\b",
                          subject.strip()))


def scan(text: str, suppressed: list[tuple[str, int, int]] | None = None) -> list[GrammarHit]:
    """Every structural threat in ``text`` (already normalised), after negation and reporting checks.

    Threats dropped by those checks are appended to ``suppressed`` (if given) as
    ``("negated" | "reported", start, end)``, so the caller can explain, and damp, a score that
    the words alone would raise.
    """
    hits: list[GrammarHit] = []
    if len(text) < 4:
        return hits
    rules: tuple[GrammarRule, ...] = ()
    if _NEEDS.search(text) is None:
        pass
    elif _CORE.search(text) is not None:
        rules = GRAMMAR_RULES
    elif _ANY_PHRASE.search(text) is not None:
        rules = _PHRASE_RULES           # most everyday posts: one folded search for all set phrases
    for rule in rules:
        for m in rule.rx.finditer(text):
            verb = _verb_of(m)
            start, end = m.span()
            modal = m.groupdict().get("modal") or ""
            if rule.negatable and (bool(m.groupdict().get("neg")) or negated(text, start)
                                   or (_NEG_MODAL.search(modal) and not _NEG_EXEMPT.search(modal))):
                if suppressed is not None:
                    suppressed.append(("negated", start, end))
                continue
            if rule.negatable and answered_no(text, end):
                if suppressed is not None:
                    suppressed.append(("negated", start, end))
                continue                        # "shoot every looter? No. Arrest them": asked and refused
            if verb in _SHOOT_VERBS and _PHOTO.search(text, _clause_start(text, start), _sentence_end(text, end)):
                continue                        # "shoot anyone who crosses the line with a camera": photography
            if rule.id in ("vt.grammar.intent", "vt.grammar.intent_gap") and _HYPERBOLE_AFTER.match(
                    text, m.end("target") if _target_of(m) else end):
                continue                        # "i'd kill a man for a pint"
            if rule.id in _WEAK_CHECK_RULES and (verb in _WEAK or verb in _WEAK_ING):
                target = _target_of(m) or ""
                after = text[m.end("target") if target else end:][:40]
                body = (re.search(_BODY + r"$", target) is not None
                        or re.match(r"(?:'s)?\s+" + _BODY + r"(?!\w)", after) is not None)    # "bruk yuh neck", "cave that kid's face in"
                if verb in _FRAME_ONLY:
                    if not _PUT_FRAME.match(after):
                        continue
                    body = True                 # the place is the frame: "leave you on the floor"
                if verb == "jump" and re.fullmatch(r"(?:him|her|them|dem|you|u|ya|em|'em)", target):
                    body = True                 # "we're gonna jump him after school": an ambush, not a queue
                if verb == "hit" and re.match(r"\s+up\b", after):
                    continue                    # "i'll hit you up later": a message, not a blow
                framed = re.search(r"(?:shit|crap|hell|fuck|life|daylights|stuffing|snot)\s+out\s+of\s", m.group(0)) is not None
                group = (re.search(r"(?:\ball|\bevery\s*(?:one|body|single|last)|\beach\s+of|\bboth|\blot\s+of)", target) is not None
                         and re.fullmatch(_QUANT_AGENT, target) is None)    # "beat all the other runners": a race
                if not (body or framed or (group and verb not in _FRAME_ONLY)) and not _WEAK_OK.search(after):
                    continue
            if rule.id in ("vt.grammar.normative", "vt.grammar.should_die") and re.match(
                    r"(?:no|not\s+(?:a|one|all|every)|nobody|no\s+one|never)\b", m.group("subject").strip()):
                if suppressed is not None:
                    suppressed.append(("negated", start, end))
                continue
            if rule.id == "vt.grammar.normative":
                subj = m.group("subject")
                if re.search(r"(?:^|\s)(?:" + _PERSON_NOUNS + r"|people|anyone|everyone|those)\s+(?:who|that)\s+(?:\S+\s+){0,6}?"
                             + re.escape(subj) + r"$", text[max(0, m.start("subject") - 60):m.end("subject")]):
                    subj = "people who " + subj   # "the teachers who pushed this agenda should be dragged out and beaten"
                if verb in _PARTICIPLE_PERSON_ONLY or m.group("modal") in {"are", "is", "'re", "'s", "r", "will", "'ll"}:
                    if not _subject_is_person(subj):
                        continue
                elif not (_subject_is_person(subj) or re.search(r"\w+s$", subj.strip())):
                    continue
                if m.group("modal") in {"are", "is", "'re", "'s", "r"} and not re.search(r"gonna|going\s+to|getting",
                                                                                         m.group(0)):
                    continue            # "they are stabbed" is a report, not a threat
                # start the evidence at the subject's last word, not at words before it
                sub_words = subj.split()
                start = m.start("subject") + subj.rfind(sub_words[-1]) if sub_words else start
            if verb in _SLANG_ONLY and rule.id in _SLANG_CHECK_RULES and not _STREET_CUE.search(text):
                continue                        # "the kids will get wet if it rains"
            if rule.id in ("vt.grammar.imperative", "vt.grammar.intent") and _FATE_SUBJECT.search(
                    text[max(0, m.start() - 50):m.start()]):
                continue                        # "an unplanned cost will just come and slap you in the face"
            if rule.id == "vt.grammar.intent":
                lead = text[max(0, m.start() - 30):m.start()]
                if _NONPERSON_SUBJECT.search(lead) and not re.match(r"(?:i|we)\W", m.group("modal")):
                    continue
            if reported(text, start, end):
                if suppressed is not None:
                    suppressed.append(("reported", start, end))
                continue
            hits.append(GrammarHit(rule.id, start, end, rule.weight, verb))
    if not hits and _CL_ACT_GATE.search(text) is not None:
        for start, end, act in _clause_hits(text):
            if negated(text, start) or negated(text, end - len(act)) or answered_no(text, end):
                if suppressed is not None:
                    suppressed.append(("negated", start, end))
            elif reported(text, start, end):
                if suppressed is not None:
                    suppressed.append(("reported", start, end))
            else:
                hits.append(GrammarHit(CLAUSE_RULE.id, start, end, CLAUSE_RULE.weight, act))
    return _dedupe(hits)


#: Every rule above needs at least one of these words (its act, its participle, a body part, or
#: its own fixed words), so a text with none of them is skipped without running the rules. Most
#: posts are everyday chatter: this check is what keeps the grammar cheap. When adding a rule,
#: add its obligatory words here (tests/classify/test_classify_grammar.py checks the examples).
def _prefilter(*words: str, stems: bool) -> re.Pattern[str]:
    """One alternation of every act, participle and body part plus ``words`` (raw regex pieces,
    "|"-joined). ``stems``: match at a word start only ("kill" covers "killing"); else whole words."""
    # folded into a trie (``fastre``): the same texts pass, several times faster
    return compile_folded(r"(?<![^\W_])", _VERB_STRONG + "|" + _PARTICIPLE + "|" + _BODY + "|" + "".join(words),
                          "" if stems else r"(?![^\W_])")


_NEEDS = _prefilter(
    r"die|dies|dead|death|bullets?|rope|knife|knives|killing|shooting|stabbing|hanging|lynching|beating|"
    r"exterminating|blades?|shanks?|shells|lead|rounds?|wap|ting|stab|slugs?|holes?|shots?|nines?|9s?|steel|"
    r"clip|mag|magazine|bora|dagger|machete|arrows?|stick|sticking|shove|pump|pumping|empty|emptying|plant|"
    r"planting|putting|puttin|sending|leaving|lay|laying|kids|children|families|jugulars?|arter(?:y|ies)|burn|"
    r"burning|torch|torching|bombing|firebomb|alight|next|finished|done|goner|getting\s+it|numbered|where|eye|"
    r"walking|body\s*bag|box|six|6|lacking|lackin|slipping|slippin|alone|own|sight|won'?t|wont|will\s+not|"
    r"ain'?t|aint|not\s+gonna|aren'?t|nah|pay|murdering|shanking|breaking|snapping|running|cutting|slicing|"
    r"smashing|battering|hurting|slapping|punching|kicking|bodying|wetting|chinging|doing|dragging|drowning|"
    r"strangling|choking|bottling|glassing|stomping|bussing|blasting|splashing|dipping|cheffing|ending|"
    r"finishing|taking|bleed|broken|trip|borrowed|time|funeral|wake|grave|coffin|casket|headstone|goodbyes|"
    r"last|list|memory|ghost|advance|pray|walk|shirt|peace|gunshot|life|fi|run|knock|beat|smash|cut|chop|fuck|"
    r"mess|rough|bash|cave|light|blow|mash|rip|wipe|hunt|gun|mow|string|shoot|slice|erase|remove|exterminate|"
    r"eradicate|better|hope|wish|kys|gassing|executing|butchering|happens|looks?|hands?|fingers?|wounds?|sure|"
    r"breathing|emoji_\w+|target|house|stamping|jumping|knocking|chopping|bashing|lighting|blowing|ripping|"
    r"hunting|trigger|throw|chuck|push|let|nuke|nuking|hang|swing|fry|rot|every|weh|blood|lick|name|names|"
    r"through|use|coming|make|zip|leave|give|drive|drove|driving|plough|plow|ploughed|ram|rammed|inside|air|"
    r"lit|spray|spraying|airing|getting|ambush|lock|locked|petrol|bed|shame|stay|know|closer|whatever|"
    r"everything|anything|thrown|set|see|someone|somebody|some1|bags?|good|rounds|ovens?|nooses?|molotovs?|"
    r"hoping|wishing|praying|wait|bring|bringing|take|carry|carrying|undertaker|coroner|crying|cry|weeping|"
    r"warning|night|head|cheff|ill|loaded|meet|catch|area|ends|again|after|then|slide|spin|slidin|sliding|"
    r"spinning|gettin|need|needs|deserve|deserves|want|wants|floor|ground|pavement|concrete|blade|shank|ching|"
    r"nank|skeng|rambo|strap|burner|piece|draco|9mm|nine|glock|pistol|shotty|shotgun|revolver|bat|hammer|axe|"
    r"acid|round|against|suffer|scream|beg|indoors|home|gut|car|till|until|til|you'?d|u'?d|he'?d|she'?d|"
    r"they'?d|ya'?d|would|leaves|waiting|straw|teeth|food|lesson|pretty|handsome|smiling|laughing|talking|"
    r"cocky|brave|find|like|gets?|pushing|sleep|emptied|pain|eat|swallow|dog|dogs|job|live|court|courtroom|"
    r"trial|watch|rid|why|solution|answer|way|option|plan|idea|euthanised|euthanized|sterilised|sterilized|"
    r"hunted|left|did|bats|machetes|guns|bricks|hammers|crowbars|carried|flip|pull|press|kick|spilled|spilt|"
    r"shed|boxes|bags|coffins|pieces|bits|visit|example|standing|money|mosques?|churches?|synagogues?|dental|"
    r"ran|steer|steered|recogni[sz]e|greet|greeted|welcome|welcomed|treat|answer|receive|fill|filled|filling|pumped|"
    r"regret|cracking|splitting|crushed|flattened|mown|smashes|crushes|flattens|ploughs|mows|hits|runs|dragged|spikes?|"
    r"pikes?|cure|fix|taste|floating|identify|tie|glasgow|chelsea|stone|swinging|sea|boat|ship|raft|dinghy|plane|train|fire|"
    r"example|gasoline|petrol|kerosene|fuel|aborted|hitler|brick|bricks|weights?|concrete|rocks?|chains?|fire|furnace|volcano|"
    r"incinerator|oven|hanging|hounds|purge|cull|cleansing|genocide|massacre|bloodbath|holocaust|lynching|loading|loaded|"
    r"cocking|cocked|crush|sterilise|sterilize|hunt|torn|ripped|mauled|eaten|ending|ended|sewn|stitched|wired|flatten|level|"
    r"napalm|neighbourhoods?|neighborhoods?|mass|extermination|brakes?|helicopters?|planes?|doors?",
    stems=False)


#: The rules built on a violent act (an act, a participle, a body part, a weapon): a text without
#: any of these CORE stems runs only the set-phrase rules (``_PHRASE_RULES``), which is what most
#: everyday posts that pass ``_NEEDS`` (it has common words such as "like", "home", "see") do.
#: Stems, not whole words ("kill" covers "kills", "killing"). The prefilter test checks both.
_CORE = _prefilter(
    r"die|dies|dead|death|bullet|rope|knife|knives|blade|shank|shell|lead|round|wap|ting|slug|hole|shot|nine|"
    r"9|steel|clip|mag|bora|dagger|machete|arrow|torch|firebomb|petrol|wreck|trash|raid|nuke|erase|remove|"
    r"exterminat|eradicat|caving|bashing|kicking|slashing|chopping|gutting|hacking|knifing|slitting|gunning|"
    r"lynching|executing|torturing|butchering|bombing|gassing|burying|dropping|merking|murking|shanking|"
    r"juking|jooking|boring|poking|spraying|blasting|popping|clapping|lighting|opening|running|breaking|"
    r"snapping|putting|cutting|slicing|burning|smashing|beating|battering|hurting|slapping|punching|bodying|"
    r"wetting|chinging|doing|dragging|drowning|strangling|choking|hanging|bottling|glassing|stomping|bussing|"
    r"splashing|dipping|cheffing|ending|finishing|taking|stamping|jumping|killing|murdering|stabbing|shooting|"
    r"slaughtering|exterminating|kys|yourself|urself|yourselves|yaself|yoself|ur\s+self|your\s+self|ditch|"
    r"grave|box|coffin|body|morgue|ground|river|canal|swing|fry|rot|hiding|shoeing|rough|rip|lay|laying|"
    r"sending|leaving|air|lit|slide|spin|slidin|sliding|spinning|gun|rifle|shotgun|pistol|glock|ak|bomb|"
    r"weapon|strap|axe|pipe|explosive|burn|run|knock|mess|cave|light|blow|mash|wipe|hunt|mow|string|fuck|beat|"
    r"smash|cut|chop|bash|mown|flatten|crush|plough|steril|hunt|torn|ripped|maul|eaten|ending|ended|sewn|stitched|wired|napalm|"
    r"level|bleed|emoji_",
    stems=True)
#: The rules that can match without any CORE stem (set phrases, "you'll be dead", "your days are numbered").
_PHRASE_RULES = tuple(r for r in GRAMMAR_RULES if r.id in {
    "vt.grammar.passive_future", "vt.grammar.will_die", "vt.grammar.you_are_dead", "vt.grammar.question2",
    "vt.grammar.implicit", "vt.grammar.better_dead"})
_ANY_PHRASE = union([r.rx.pattern for r in _PHRASE_RULES])
#: the cue lists asked only WHETHER (and where) they match, folded (``fastre``): several times faster
_REPORT, _CONDEMN, _NEG_EXEMPT, _WEAK_OK, _STREET_CUE, _PUT_FRAME = (
    folded(rx) for rx in (_REPORT, _CONDEMN, _NEG_EXEMPT, _WEAK_OK, _STREET_CUE, _PUT_FRAME))


def _dedupe(hits: Iterable[GrammarHit]) -> list[GrammarHit]:
    """Overlapping hits are one piece of evidence: keep the strongest (then longest) of each overlap."""
    out: list[GrammarHit] = []
    for h in sorted(hits, key=lambda h: (-h.weight, -(h.end - h.start), h.start)):
        if all(h.end <= o.start or h.start >= o.end for o in out):
            out.append(h)
    return sorted(out, key=lambda h: h.start)
