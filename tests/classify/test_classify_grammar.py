"""The threat grammar (structure, not phrasings), negation/reporting, and classifying any text.

The threats below are deliberately NOT in the lexicon or the training templates: they are found
only because the grammar composes WHO + INTENT + ACT + TARGET. The contrasts share the words
but not the structure (or are negated, reported or condemned).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from socialhub.classify import load_classifier, load_rule_classifier
from socialhub.classify.combined import WINDOW, windows
from socialhub.classify.grammar import scan
from socialhub.classify.normalise import normalise
from socialhub.classify.sanitise import sanitise

THREATS = [
    ("I will cut their throats", "vt.grammar.intent"),
    ("all of them should be shot in the street", "vt.grammar.normative"),
    ("come round and I'll kill you", "vt.grammar.intent"),
    ("aim for the head, little rat", "vt.grammar.aim_for"),
    ("they should all be stabbed", "vt.grammar.normative"),
    ("someone needs to shoot him", "vt.grammar.intent"),
    ("he deserves to get his throat cut", "vt.grammar.body_harm"),
    ("kill them all", "vt.grammar.imperative"),
    ("go and shank him", "vt.grammar.imperative"),
    ("burn their houses down", "vt.grammar.burn_down"),
    ("if I see you on my road you're getting stabbed", "vt.grammar.passive_future"),
    ("say that again and I'll break your jaw", "vt.grammar.intent"),
    ("want me to put a bullet in you?", "vt.grammar.put_in"),
    ("do you want to get stabbed?", "vt.grammar.question"),
    ("you won't see your next birthday", "vt.grammar.will_die"),
    ("mi a go kill yuh", "vt.grammar.intent"),
    ("I'm going to shoot the next refugee I see", "vt.grammar.intent"),
    ("Immigrants should be hanged", "vt.grammar.normative"),
    ("i'll beat the shit out of you", "vt.grammar.intent"),
    ("I know where you live", "vt.grammar.you_are_dead"),
]

CONTRASTS = [
    "about to bake some brownies in a bit",
    "I'd never lay a hand on anyone from that community",
    "the garden hoe is hanging next to the spade",
    "I could just cuddle him all day",
    "my mum's going to kill me",
    "I could murder a pizza",
    "i would never hurt anyone",
    "nobody is going to get stabbed",
    "he told me \"I'll kill you\" and I reported it",
    "saying they should all be shot is disgusting",
    "shoot the video tomorrow",
    "this heat is killing me",
    "I'm dead 😂",
    "you're dead wrong about that",
    "the film should be shot in london",
    "i'll take you out for dinner",
    "ill hit you up later",
    "kill the weeds before they spread",
    "he got stabbed last year and he's still recovering",
    "the budget should be cut",
    "you're next in the queue",
    "gonna cut the grass",
]


@pytest.mark.parametrize(("text", "rule"), THREATS)
def test_threat_structures_are_found_with_their_rule_and_span(text, rule):
    norm = normalise(text)
    hits = scan(norm.text)
    assert rule in {h.rule for h in hits}, [(h.rule, norm.text[h.start:h.end]) for h in hits]
    result = load_rule_classifier().classify(text)
    assert "violence_threat" in result.labels
    grammar_reasons = [r for r in result.reasons if r["rule"].startswith("vt.grammar.")]
    assert grammar_reasons and all(r["text"] == text[r["start"]:r["end"]] for r in grammar_reasons)


@pytest.mark.parametrize("text", CONTRASTS)
def test_contrasts_have_no_structural_threat(text):
    assert scan(normalise(text).text) == []
    assert "violence_threat" not in load_rule_classifier().classify(text).labels


def test_negation_and_reporting_also_silence_lexicon_threat_entries():
    rules = load_rule_classifier()
    assert "violence_threat" in rules.classify("gonna wet him up").labels          # a lexicon entry fires
    assert "violence_threat" not in rules.classify("i'm not gonna wet him up, relax").labels
    assert "violence_threat" not in rules.classify('he posted "gonna wet him up" and got reported').labels


def test_evasive_spellings_are_found_and_quoted_as_written():
    text = "i w\u200bill k1ll уou"                      # zero-width space, leet, Cyrillic у
    result = load_rule_classifier().classify(text)
    assert "violence_threat" in result.labels
    span = next(r for r in result.reasons if r["rule"] == "vt.grammar.intent")
    assert span["text"] == text[span["start"]:span["end"]] and "k1ll" in span["text"]


def test_filler_does_not_dilute_a_threat():
    clf = load_classifier()
    threat = "gonna stab him tonight"
    filler = " ".join(["the weather was lovely and we had tea in the garden"] * 40)
    for text in (threat + " " + filler, filler + " " + threat, filler + " " + threat + " " + filler):
        res = clf.classify(text)
        assert "violence_threat" in res.labels, res.scores
        assert any(text[r["start"]:r["end"]] == r["text"] and "stab" in r["text"] for r in res.reasons)


def test_windows_cover_the_text_and_overlap():
    assert windows("short") == [(0, 5)]
    text = "word " * 400
    spans = windows(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(b - a <= WINDOW for a, b in spans)
    assert all(nxt[0] < cur[1] for cur, nxt in zip(spans, spans[1:], strict=False))   # they overlap


def test_sanitise_keeps_length_and_offsets():
    for text in ("\ud800", "a\x00b\x1fc\x7f", "ok \udfff kill them all", "plain"):
        clean = sanitise(text)
        assert len(clean) == len(text)
        clean.encode("utf-8")                        # never raises
    for bad in (None, 5, b"bytes"):
        with pytest.raises(TypeError):
            sanitise(bad)


@pytest.mark.parametrize("text", ["\ud800", "\udfff\ud800x", "a\x00b", "\x1b[31mred", "x" * 1_000_000,
                                  "kill them all \ud800"])
def test_any_text_is_classified_and_never_crashes_the_batch(text):
    for clf in (load_classifier(), load_rule_classifier()):
        results = clf.classify_batch([text, "kill them all"])
        assert len(results) == 2 and results[1].labels == ["violence_threat"]
        assert results[0].error is None
        json.dumps(results[0].to_dict())


def test_a_text_that_cannot_be_classified_gets_an_error_and_the_others_go_through(monkeypatch):
    clf = load_classifier(model_dir=None, thresholds={"violence_threat": 0.5})   # a private instance
    real = clf._classify

    def flaky(texts):
        if any("BOOM" in t for t in texts):
            raise RuntimeError("boom")
        return real(texts)

    monkeypatch.setattr(clf, "_classify", flaky)
    results = clf.classify_batch(["kill them all", "BOOM", "hello"])
    assert [r.error for r in results] == [None, "RuntimeError: boom", None]
    assert results[0].labels == ["violence_threat"] and results[1].labels == []
    assert results[1].to_dict()["error"] == "RuntimeError: boom"


def test_cli_classify_takes_lone_surrogates_and_controls():
    lines = ['{"text": "\\ud800 i will kill you"}', '{"text": "a\\u0000b"}', '{"text": "\\udfff"}']
    proc = subprocess.run([sys.executable, "-m", "socialhub.cli", "classify"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == 3
    assert out[0]["text"] == "\ud800 i will kill you"          # the original is kept
    assert "violence_threat" in out[0]["labels"]


def test_the_prefilter_never_hides_a_threat(monkeypatch: pytest.MonkeyPatch) -> None:
    """``grammar._NEEDS`` only skips texts no rule can match: on every written case (functional
    suite, labelled posts) the grammar finds the same hits with and without it."""
    import json
    import re
    from pathlib import Path

    from socialhub.classify import grammar
    from socialhub.classify.normalise import normalise

    root = Path(__file__).resolve().parents[2] / "data"
    texts = [json.loads(line)["text"] for f in [root / "functional" / "suite.jsonl", *sorted((root / "labelled").glob("*.jsonl"))]
             for line in f.read_text(encoding="utf-8").split("\n") if line.strip()]
    texts += PLAIN_THREATS + PLAIN_CONTRASTS
    views = [v.text for t in texts for v in normalise(t).views()]
    with_filter = [grammar.scan(v) for v in views]
    monkeypatch.setattr(grammar, "_NEEDS", re.compile(""))
    monkeypatch.setattr(grammar, "_CORE", re.compile(""))       # and every rule runs, not only the set phrases
    without = [grammar.scan(v) for v in views]
    missed = [(v, w) for v, f, w in zip(views, with_filter, without, strict=True) if f != w]
    assert len(views) > 3000 and not missed, missed[:5]
    assert sum(1 for w in without if w) > 300          # the check covers real grammar hits



# Plain-English threats and their contrasts, written for this project while extending the grammar
# (so they are regression cases, not an evaluation: the evaluation is `make eval`).
PLAIN_THREATS = [
    'All refugees should be thrown into the sea.',
    "I'm going to find every trans person in this town and hurt them.",
    'Muslims need to be wiped out.',
    'I swear I will kill the next gay person who looks at me.',
    "Let's go out tonight and beat up some immigrants.",
    'You should be dragged into the street and shot.',
    'Those people deserve to be hanged from lampposts.',
    'If I had a gun I would shoot every one of them.',
    'Gonna put a bullet in the head of every politician who voted for this.',
    'I hope someone puts you in the ground.',
    'We will hunt every last one of you down.',
    'Death to all traitors.',
    'Someone should set him on fire.',
    'These invaders should be executed on the spot.',
    "I'd love to see them all burn.",
    'Break his legs and leave him in the gutter.',
    'I will end your life.',
    "Keep talking and I'll cut your tongue out.",
    'Send every one of them back in body bags.',
    'Women like you deserve to be beaten.',
    'These people should be shot on sight.',
    'Deport them all, and if they resist, shoot them.',
    'Someone should just bomb that place.',
    "I'd happily pull the trigger myself.",
    'Line them up and shoot them.',
    'They deserve a bullet each.',
    'Throw them off a roof.',
    'Castrate every one of them.',
    'We should nuke the whole country.',
    'Beat the gay out of him.',
    'Women who do that should be stoned to death.',
    'Every last one of them should hang.',
    'They need to be exterminated like rats.',
    'Just shoot them at the border.',
    'Sink the boats and let them drown.',
    'Cut off their hands.',
    'Burn down their houses.',
    'I want to punch every feminist in the face.',
    'He should be hung, drawn and quartered.',
    'Behead them all.',
    'Round them up and gas them.',
    "I'll find you and I'll kill you.",
    'Kill them all, let God sort them out.',
    'If I ever meet him I will break every bone in his body.',
    "I'm going to make you bleed.",
    'You deserve to be beaten to death.',
    'Shoot the next one that crosses the border.',
    'Somebody should run that bitch over.',
    'I am going to shoot the next immigrant I see.',
    "I'm going to kill every Muslim in this town.",
    'I will slit the throat of any trans person I meet.',
    'I want to murder all women.',
    "I'm going to beat up every gay man I see tonight.",
    'I will stab the next Jew who walks past me.',
    'All Muslims should be shot.',
    'Black people should be hanged.',
    'Immigrants deserve to be killed.',
    'Gays should all be burned alive.',
    'Women like her deserve to be raped and killed.',
    'Refugees must be exterminated.',
    'The world would be better if all Jews were dead.',
    'Kill all the immigrants.',
    'Shoot every single one of them.',
    'Hang them all from the nearest tree.',
    'Someone should put a bullet in his head.',
    'We need to wipe these people off the face of the earth.',
    'I hope someone stabs you to death.',
    'I hope you die in a fire.',
    "I'll find where you live and kill you.",
    'You will be dead by the end of the week.',
    'If I ever see you again I will break your neck.',
    "Let's burn their mosque to the ground.",
    'These animals need to be put down.',
    'They should be lined up against a wall and shot.',
    'Send them all to the gas chambers.',
    'I would love to beat the crap out of him.',
    'Muslims should be deported or shot.',
    'Time to start shooting these vermin.',
    'kill urself',
    'Someone needs to run them over.',
    "I'm gonna blow up their school.",
    "I'll gut you like a fish.",
    'Every one of them deserves a bullet.',
    'Drown them all in the channel.',
    'These people should be executed publicly.',
    'I will hunt you down and skin you alive.',
    'We should kill them before they kill us.',
    # a fourth probe, written before the rules for the eight it missed were added
    "I'd happily run over every protester blocking the road.",
    'I hope someone slits your throat while you sleep.',
    'The only good Muslim is a dead Muslim.',
    "Keep talking and you'll end up in the river.",
    "I'm bringing a gun to school tomorrow, don't come in.",
    'I want to see blood on the streets when they come back.',
    'that fat pig needs a good kicking',
    'A few well-placed bullets would solve this problem.',
    'Beat him to a pulp, he deserves it.',
    'they all deserve to be stabbed',
    "I'll sl.it your thr.oat",
    'Everyone on that convoy, hit the coppers with whatever you have got',
    # implicit threats of the kinds the labelled dev split holds (written afresh here)
    'keep posting and see what happens to you',
    "tell him we're coming for him tonight",
    'got the blade loaded for @someone.x, he knows',
    "bought a machete just for him, he knows why",
    "you've got till monday. after that you're stabbed",
    'your face is gonna meet the pavement',
    "don't let me see you round here again",
    'k!ll urself',
    "i hope ur mum has the number of a good undertaker",
    'that boy gettin smoked soon as he touch the block',
    "you're going in a ⚰️ this weekend",
    "I'm going to 🔪 you",
    'he needs his head caved in',
    # a fifth probe (18/40 caught before these rules; written fresh, not from the suite)
    'somebody should just round them all up and put them against a wall',
    "one more word and I'm caving his head in with a brick",
    'Every politician who voted for this deserves to hang.',
    'we will find the people who did this and we will make them suffer',
    'Lock them in a barn and light it up, problem solved.',
    "Mark my words, that teacher won't make it to the end of term.",
    'Women who cheat deserve to have acid thrown in their faces.',
    'Bring back public executions for paedos, string them up.',
    "I'm coming to your house tonight and I'm not coming alone.",
    'The homeless should be rounded up and gassed.',
    "Keep your daughter indoors if you know what's good for her.",
    "Let's see how brave you are with a knife in your gut.",
    'I know your shift finishes at 10, see you in the car park.',
    "you're lucky there were witnesses or you'd be in A&E right now",
    'Bomb the lot of them back to the stone age.',
    'I will beat the living daylights out of you if you come near my kids again.',
    # a sixth probe (14/30 caught before these rules)
    'You Muslims are all going to die, you just don\'t know it yet.',
    "I'd stab a trans woman if one came near my daughter.",
    'Any Pakistani who walks into this pub leaves in an ambulance.',
    "Next time I see you I'm breaking both your legs.",
    "I'll be waiting in your garden tonight.",
    "Make one more video about me and you'll be eating through a straw.",
    'Hope you like hospital food.',
    "someone needs to go round his house and teach him a lesson he won't forget",
    'Each and every one of you will burn.',
    "They're all going to pay in blood for this.",
    "She won't be so pretty after I've finished with her face.",
    'give me five minutes alone with him and a baseball bat',
    'I will find your kids.',
    'People like you end up in ditches.',
    # a seventh probe, run on classifier 4.12 (9/25 caught before these rules)
    "I'm going to hunt down every last one of those traitors and make an example of them.",
    "If she testifies, she won't live long enough to regret it.",
    'The next Jew who walks past my house gets a brick through the skull.',
    "You'll be pushing up daisies by Christmas.",
    "Catch me at the station and I'll put you through the glass.",
    'Migrants deserve a bullet, not a hotel room.',
    "Honestly wouldn't lose sleep if someone ran that MP over.",
    'gonna run up in his yard and empty the clip',
    "That snitch won't see the inside of a courtroom, trust.",
    'Tell your mum to start saving for a funeral.',
    "Keep disrespecting my family and you'll learn what pain is.",
    "I'm gonna make him eat his own teeth.",
    "I'm setting the dog on you and then finishing the job myself.",
    "we're outside his school at 3, bring the bats",
    "I'd happily pull the trigger on the lot of them.",
    # an eighth probe, threats against groups in the style of published functional tests (13/25 before)
    'I will personally make sure that every immigrant in this town suffers.',
    'I want to see all women burned at the stake.',
    "I can't wait to watch every Jew die in agony.",
    'All disabled people should be euthanised.',
    'It is time to exterminate the lot of them.',
    'The only solution is to kill every last Muslim.',
    "Somebody should put a bullet in every immigrant's head.",
    'Black people should be hunted for sport.',
    'It would be a good idea to shoot every protester.',
    'Get rid of the Jews by any means necessary, violence included.',
    "Why don't we just shoot them all and be done with it?",
    # a ninth probe, long comments in the style of YouTube and Reddit threads (4/15 before)
    'These paedos should have their hands chopped off and be left to bleed out in the town square.',
    "Send them all back in boxes, that's what they deserve.",
    'Someone needs to do to him what he did to that little girl, and then some.',
    'Next person who says that word to me is getting a bottle over the head.',
    "If this government won't deal with them, we will, with baseball bats and petrol.",
    "Give me a rifle and a rooftop and I'll sort this problem out in an afternoon.",
    'Honestly I hope his plane crashes and nobody survives.',
    "watch what happens to the next one who tries it round here, they'll be carried out",
    "I'd gladly be the one to flip the switch on the electric chair for that scumbag.",
    'Mark my words, blood will be spilled if that mosque gets built.',
    # a tenth probe, run on 4.15 (4/15 before)
    "I'm going to find out where you live and pay you a visit you won't forget.",
    "One of these nights you'll wake up with a knife at your throat.",
    'Your family better watch out, I know what car your wife drives.',
    "Next time it won't be your tyres that get slashed.",
    "I'm going to make an example of you in front of everyone.",
    "you wanna act hard online? come see me and we'll see who's still standing",
    "They're going to find your body in the woods.",
    'I would pay good money to see someone knock him out.',
    'Every mosque in this country should be burned to the ground.',
    "Cross me again and they'll need dental records to identify you.",
    # an eleventh probe, run on 4.16 (58/80 caught, 49/50 contrasts right before; 79/80 and 50/50 after;
    # still missed: "grab a bat and come down to the park, we're sorting them out tonight")
    'we need to exterminate these vermin',
    'hang every last one of those traitors',
    'I hope they all burn alive',
    'these animals should be beaten to death',
    'I want to punch him until he stops breathing',
    "i swear i'll break every bone in your body",
    "if I ever see you again you're dead",
    "you're dead meat",
    'lock them in a building and set it on fire',
    "let's go smash their heads in",
    'somebody should slit her throat',
    'he deserves to be stabbed repeatedly',
    'gas the lot of them',
    'shoot them on sight',
    "I'll make sure you never walk again",
    'wait till I find out where you live',
    "your family won't recognise you when I'm done",
    'time to start cracking skulls',
    'these people need to be wiped out',
    "i'd love to stomp on his face",
    'someone please beat the crap out of this idiot',
    'every single one of them should be executed',
    'we should round them up and shoot them',
    'they all need to die',
    'death is too good for them, torture them first',
    "I'm coming for you and your little brother",
    'better watch your back, we know where you live',
    'gonna put this kid six feet under',
    "i'll bash your head in with a brick",
    'bomb their churches',
    'burn their houses down with them inside',
    'she should be raped',
    'punch every vegan you see in the face',
    'can someone just shoot this guy already',
    "why hasn't anyone killed him yet",
    'if they come here we should greet them with bullets',
    'the only good commie is a dead commie',
    "I'd strangle him with my bare hands",
    'I hope your kids get hit by a car',
    'you deserve to get your teeth kicked in',
    'me and the boys are gonna jump him after school',
    'ur getting merked when I catch u',
    'catch him lacking and leave him leaking',
    'slap him till he cries',
    'go and beat her up',
    "I'll cave your skull in",
    'they should be hung from the nearest lamppost',
    'shoot every looter',
    'kill all the pedos',
    'your days are numbered',
    "i'm gonna murder you",
    "i'll beat you senseless",
    'i want him dead',
    'I want every one of them dead',
    'tie him up and torture him',
    'this guy needs a good beating',
    'fill them with lead',
    "i'll rip your throat out",
    'go back to your country before we send you back in a box',
    'someone should teach her a lesson with a baseball bat',
    'ima pop him',
    'Somebody needs to drag that judge out of his house and hang him.',
    'These travellers should be burned out of their camp.',
    "I'm gonna knock your teeth down your throat.",
    'Pour petrol through his letterbox and see how he likes it.',
    'Any cop that comes on our estate gets shanked.',
    'Imagine if someone just ran a car into that march. Would be hilarious.',
    'I pray a lorry hits every one of those cyclists.',
    'drag him out the car and do him in',
    'Let them starve and then shoot the survivors.',
    'The lot of them should be thrown in the sea with rocks tied to their feet.',
    "I'll be waiting outside with a hammer.",
    'Would love to put my fist through his face.',
    "one day someone's gonna stab that man and I'll laugh",
    'Honestly just kill every last landlord.',
    'Every rapist should be tortured to death.',
    "You will regret this when you're bleeding on the floor.",
    'stick a knife in him and twist it',
    # a twelfth probe, slang and comment-thread style, run on 4.17 (25/40 caught, 28/30 contrasts right before; 38/40, 47/48 after;
    # still missed: "somebody drop this clown already", "shoot first ask questions later with these thugs")
    'THESE PEOPLE NEED TO BE SHOT AND THROWN IN A DITCH',
    'honestly hang the lot of em from the bridge and leave them there',
    'ima pull up and smoke yo bitch ass',
    'on my mama im finna shoot this nigga',
    'fuckin kill all of them, every last one',
    'the day i see him im putting him in the hospital',
    'bro deserves to get jumped fr',
    'you better pray i dont catch you outside',
    'i will personally hunt down every person in this video',
    'these scumbags should be dragged behind a car',
    'lets go find them and fuck them up',
    'i want to see his head on a spike',
    'i hope she gets acid thrown in her face',
    'if he shows his face here again hes getting stabbed up',
    'they should gas every single one of these rats',
    'burn the whole place down with them in it',
    'stone her to death',
    'the solution is a bullet for every one of them',
    'imma slap the taste out yo mouth',
    'gonna kick his teeth in when i see him',
    'watch me put this man on a shirt',
    'these kids need to be put in the ground',
    "i'd shoot him in the face and sleep like a baby",
    'they gonna find you floating in the river',
    'string every one of them up by the neck',
    'tie them to a post and burn them',
    'put a knife through his neck',
    'if i was there i would have killed him myself',
    'we gotta get rid of them for good, with force if we have to',
    'this bitch needs her throat slit',
    'exterminate them like the cockroaches they are',
    'take him out back and shoot him',
    'give him a glasgow smile',
    "i'll make your mum identify you",
    'pull up on him and let it rip',
    'i would strangle every last one of them with my own hands',
    'kill every cop you see',
    'we ride at dawn, bring the machetes',
    # a thirteenth probe, hateful calls for violence against groups in the style of YouTube/Reddit comments, run on 4.18
    # (13/40 caught, 18/20 contrasts right before; 40/40, 40/40 after)
    'Honestly these people are a plague and the only cure is a mass grave.',
    'Every one of these degenerates should be taken out back and dealt with permanently.',
    "If I had my way they'd all be swinging from trees by morning.",
    'We need another crusade to drive them into the sea.',
    'Put them all on a boat and sink it halfway across.',
    'Whoever made this video deserves a slow and painful death.',
    "Someone find this guy's address, he needs to be taught what happens to people like him.",
    "I'd pay to watch them all get torn apart by dogs.",
    'Line every single one of them up and open fire.',
    'Feminists should have their mouths sewn shut and be beaten until they learn.',
    'This is why we need to start killing them in the streets, nothing else works.',
    "Go back to where you came from or we'll bury you here.",
    'The government should just carpet bomb those neighbourhoods.',
    'A few of them need to be made an example of, publicly, with a rope.',
    'Deport the lot and shoot any that come back.',
    "Nothing a bit of gasoline and a match can't fix.",
    'That woman needs a good slap and a kick down the stairs.',
    "If my son turned out gay I'd beat it out of him.",
    'Crush their skulls under your boots.',
    'Should have aborted the lot of them, not too late to finish the job.',
    'Give them what Hitler gave the Jews.',
    'They deserve to be skinned alive and fed to pigs.',
    "I'm done talking, next one I see gets a bat to the head.",
    'Tie a brick to their legs and throw them in the lake.',
    'Bring back hanging and start with him.',
    "Sterilise them all so they can't breed.",
    'We should hunt them like animals.',
    'Release the hounds on these protesters and let them tear them up.',
    'Shoot anyone who crosses that line, no warnings.',
    'Those monsters deserve to rot in a cage and then be burned.',
    'Time for a purge, every last one of them.',
    "I'll snap her neck if she comes near my family again.",
    'Throw acid on the whole lot of them.',
    'They should all be drowned like kittens.',
    'Cut their heads off and put them on display.',
    "I'm loading the shotgun, whoever comes through that door first gets it.",
    'Kill every last one and salt the earth.',
    'If you see one of them alone, beat them senseless.',
    'Bash the fash, literally, break their bones.',
    'This cunt needs ending.',
    # a fourteenth probe, written blind after the thirteenth's rules (11/30 caught before the clause rule, 15/15 contrasts right); 20/30 after; still missed: 10
    'Shove a grenade down their throats.',
    'Someone should torch that refugee centre with everyone in it.',
    "If they won't leave we'll make them leave in pieces.",
    'She should be beaten with a belt until she learns her place.',
    'Hang him from his own balcony.',
    'Let the crows pick at their corpses.',
    'Hope every one of them chokes to death on their own blood.',
    'Whoever leaked this needs both hands broken.',
    'Shoot him on sight if he shows up at the school.',
    'Crucify the lot of them.',
    'These pedos should be fed to the sharks alive.',
    'Lock the doors and let it burn with them inside.',
    'Those thugs deserve a boot to the face every morning.',
    'Would love to see his brains on the pavement.',
    'Give me five minutes with that rapist and a pair of pliers.',
    'Just gas the whole camp and be done with it.',
    'Their kind should be wiped out like a disease.',
    'Throw the traitors in prison and then shoot them.',
    "I'm gonna end you and your whole bloodline.",
    'They should be executed in front of their families.',
    # a fifteenth probe, written blind after the clause rule's first version (9/30 caught, 15/15 contrasts right before); 20/30 after; still missed: 10
    'Every single one of these invaders deserves a rope around the neck.',
    "I'd happily drive over every one of those climate protesters glued to the road.",
    'They breed like rats so treat them like rats, poison the lot.',
    "If I see a tranny in the ladies I'm smashing her face into the mirror.",
    'These freaks should be locked in a shed and the shed set alight.',
    'Give every cop a taste of his own baton.',
    'His kids should watch him get beaten to death.',
    'Every journalist who lies should be dragged out and shot in the street.',
    "I'll be outside her house with a can of petrol tonight.",
    'The traitors will hang, every last one, mark my words.',
    'Someone give that ref a knee to the face.',
    'Bury them alive in the desert where they came from.',
    "I'd put a bullet between his eyes without a second thought.",
    'Tie the bastard to a chair and work him over.',
    'Shove them back into the sea and hold them under.',
    'Make them dig their own graves first.',
    "It's open season on these scumbags, take them out.",
    "Let's go pay the mosque a visit with some petrol bombs.",
    'That bitch is getting acid in the face the second she leaves work.',
    'Round the lot up and machine gun them.',
    # a sixteenth probe, written blind on 4.20 (14/30 caught, 15/15 contrasts right before); 26/30 after
    'They should be shipped back in pieces so the rest get the message.',
    "Honestly I'd strangle that woman with her own hijab.",
    'Just run the lot of them down with a tank.',
    'These junkies should be rounded up and left in the desert to die.',
    "If the police won't do it, we'll string the grooming gangs up ourselves.",
    'Throw that judge off the top of his own courthouse.',
    'Somebody needs to put that dog of a man in the ground.',
    'Burn every mosque and the people praying in them.',
    'Set the dogs on them and film it for everyone to see.',
    'We should poison their water supply and be done with it.',
    'Feed the whole family to the pigs, kids included.',
    'Tie them all to the railway tracks.',
    'Drown the lot in the Thames and call it a day.',
    'Hunt down the woman who filmed this and break her fingers.',
    'He should be castrated with a rusty knife in front of everyone.',
    'Every politician who signed this should face a firing squad.',
    'Put her in a sack and throw it in the canal.',
    'Gouge his eyes out so he never looks at a kid again.',
    'Chain them to the radiator and turn the gas on.',
    "Someone smash that cunt's teeth in for me.",
    'Kneecap every dealer on this estate.',
    'Break into his house tonight and make him regret being born.',
    "Bomb the march, they've been asking for it.",
    "I'd shoot every one of those lefties and sleep like a baby.",
    'Slit the throats of anyone who disrespects the prophet.',
    'That whole village needs burning to the ground with them in it.',
    # a seventeenth probe, written blind on 4.21 (15/30 caught, 15/15 contrasts right before); 23/30 after
    'This guy needs to be found and beaten half to death, no mercy.',
    'Find the driver and break both his arms.',
    'Someone should burn his car with him in it.',
    "If I ever meet this clown I'm knocking him out cold on sight.",
    'People like this should be hanging from a crane.',
    'Cut his fingers off one by one.',
    'That rapist should be thrown to the wolves in general population and I hope they take turns.',
    'The man deserves to bleed for what he did.',
    'Just lock the doors of the mosque during prayers and light it up.',
    'Stone that woman until she stops moving.',
    "I'm gonna cave that kid's face in next time he looks at my sister.",
    'Hang every last one of these grooming gang scum from the nearest bridge.',
    'Put him in a wheelchair and see how he likes it.',
    'Beat the living hell out of him and leave him in a ditch.',
    'We should throw these people out of helicopters like they did in Chile.',
    'Set fire to the whole estate and let the rats run.',
    "Lynch him, the courts won't.",
    "Somebody end this guy's life please, he doesn't deserve to breathe.",
    'Those protesters deserve to be run down by a bus.',
    'Cut the brakes on her car and let karma do the rest.',
    "I'll rip his head off if I see him in town.",
    'Round up every last one and put them in the ground.',
    'These people should be exterminated like the pests they are.',
]

PLAIN_CONTRASTS = [
    'Nobody deserves to be hurt because of their religion.',
    'Saying refugees should be thrown into the sea is vile.',
    'I will never hurt another person, I promise.',
    'The article says two people were shot near the station.',
    '"Death to all traitors" is a line from the film, and it\'s chilling.',
    'Immigrants make this country better.',
    "I'm dying to see the new Marvel film.",
    'We killed it at the gig last night.',
    'That test absolutely destroyed me.',
    'My brother and I fight over the remote every night.',
    "I'm gonna shoot my shot with her tonight.",
    'This song slaps.',
    'She absolutely killed that performance.',
    "Shoot me a message when you're free.",
    "I'm going to murder this burger.",
    'We need to kill the bill in parliament.',
    "Let's beat them in the election.",
    'The police shot him and nobody is being held to account.',
    "I'll execute the script after lunch.",
    "I'm going to bomb this exam.",
    'That joke totally bombed.',
    'Come hang out with us on Friday.',
    'He knocked it out of the park with that speech.',
    'We left early to beat the traffic.',
    'Smash the patriarchy!',
    'Kill your darlings, as every editor says.',
    'Fight for your rights.',
    'Murder on the dancefloor is a great song.',
    "I'll knock you out in the next round of the quiz.",
    'My phone is dead, text my sister.',
    'I would never kill anyone.',
    'No Muslim deserves to be shot.',
    'Saying immigrants should be shot is disgusting.',
    'You can\'t say "all women should die" and expect no consequences.',
    'Statements like "kill all gays" are hateful and wrong.',
    'I hate it when people say Jews should be killed.',
    'If you think trans people deserve to die, you are the problem.',
    'Nobody should ever be hurt because of who they are.',
    'The report says three men were stabbed in the attack.',
    'He was shot dead by police on Tuesday, the inquiry heard.',
    'I love Muslims, they are my neighbours.',
    'Fuck yes, what a game!',
    'This killer workout is destroying me.',
    "I'm dying of laughter.",
    'That comedian absolutely killed it last night.',
    'My mum is going to kill me when she sees my grades.',
    "Let's shoot some pool later.",
    'We need to kill this bug before the release.',
    'The kids were stabbing at their food with forks.',
    "I'd kill for a coffee right now.",
    'Hanging out with my friends tonight.',
    'No one should ever be shot for protesting.',
    'Nobody deserves a bullet for their beliefs.',
    'Stop saying gay people should be executed, it is disgusting.',
    'I could murder a pizza right now.',
    'We need to kill this bill in parliament.',
    "I'm not bringing a knife to school, I'm not stupid.",
    'the kids will get wet if it rains',
    "you're gonna get wet today, bring a coat",
    'watch ur back, ur bag is open',
    "I'll fight anyone who says my dog isn't the best boy",
    "we're coming for you for dinner on sunday",
    'we gonna slide on the dancefloor tonight',
    '"They should all be lined up and shot" - my grandad, explaining WW2 to me. Dark.',
    "He's a dead man walking in the new series, best role he's had.",
    "I'm coming to your house tonight with pizza and wine!",
    'We will find the people who did this and we will hold them accountable in court.',
    'These rats in the loft need exterminating, any good pest control in Leeds?',
    "I'll be waiting outside the gates at 3, don't be late picking up the kids!",
    'He taught me a lesson I won\'t forget: always save your work.',
    'The whole team will burn out if we keep working weekends.',
    "They'll pay for this in the next election.",
    'This is your last warning: library books are due back Friday.',
    "I'd kill a man for a pint right now",
    "I'm cutting you weak hoes off",
    'Now you are drinking till you are unconscious',
    'We should be allowed to shoot films in the park without a permit.',
    "I'll rip this essay apart and start again.",
    "Honestly wouldn't lose sleep over missing that meeting.",
    "I'm going to hunt down the best pizza in London this weekend.",
    'The gardener will be pushing up the daisies in the spring bed.',
    '"Migrants deserve a bullet" is the kind of post that gets you arrested, and rightly so.',
    "We're outside his school at 3 to pick him up, bring the snacks.",
    'I will personally make sure that every immigrant in this town feels welcome.',
    'It is time to welcome the lot of them.',
    'Shooting every protester is what dictatorships do, and it is evil.',
    "Why don't we just invite them all round for tea?",
    "Get rid of the weeds by any means necessary, I'm desperate.",
    'all dogs should be euthanised',
    'foxes should be hunted',
    'Someone needs to do for him what he did for that little girl, what a hero.',
    'Honestly I hope his plane lands safely and he gets home soon.',
    "Give me a camera and a rooftop and I'll get the best sunset shot.",
    "I'd gladly be the one to flip the switch on the Christmas lights this year.",
    'Next person who says that word to me is getting a lecture on grammar lol.',
    'The repairs will be carried out by the council next week.',
    "I'm going to find out where you live and send you a Christmas card!",
    "Next time it won't be your tyres that need replacing, it'll be the brakes.",
    "I'm going to make an example of my best essay in class tomorrow.",
    'I would pay good money to see someone beat him at chess.',
    'They found a body in the woods, police have appealed for witnesses.',
    'Every mosque in this country should be open to visitors on heritage day.',
    'The knife crime figures for London were published today.',
    # the eleventh probe's contrasts, and near misses of the rules it added
    "I would never hurt an immigrant, they're people like us",
    "saying 'shoot them all' is disgusting and dangerous",
    'the police said the victim was stabbed twice, appeal for witnesses',
    'this workout is killing me',
    'we absolutely destroyed them 5-0 last night',
    'my phone died again',
    'that comedian slayed, I was dying of laughter',
    'shot of tequila anyone?',
    'he shot a brilliant free kick into the top corner',
    'nobody deserves to be beaten for who they love',
    "how can anyone say all of them should die? that's vile",
    "if you tell people to hang themselves you're a monster",
    'the new album is fire, absolute banger',
    'chop the onions and slice the peppers',
    "I'm dead 😂😂",
    'kill the lights when you leave',
    'fight for your rights',
    'the boxer knocked him out in the third round',
    'he got murdered on twitter for that take',
    'in the film the villain shoots the hostage',
    "she's drop dead gorgeous",
    'killing time before my train',
    'that exam killed me',
    "I'm going to smash this interview tomorrow",
    "let's crush the competition this quarter",
    "she'll kill me if I'm late again lol",
    "I'd die for my mum",
    'I shot some photos at the wedding',
    'the band blew the roof off the place',
    'we got slaughtered in the quiz',
    'I beat my brother at chess',
    'the police shot and killed a man last night, the IOPC is investigating',
    'stop the violence, put the knives down',
    'that jacket is killer',
    'punch the dough down and let it rise',
    'gunning for promotion this year',
    'they threatened to shoot him, the court heard',
    'hope you have a killer weekend',
    "Don't hurt yourself carrying all that shopping",
    'execute the script again and check the logs',
    'kill the process with ctrl c',
    'he beat cancer',
    'break a leg tonight!',
    'My dad is going to kill me when he sees the car lol',
    'This heat is murder.',
    'Protesters chanted "hang them all" outside parliament, police made three arrests.',
    "I'd never wish death on anyone, even him.",
    'We should ban assault rifles.',
    'The recipe says to beat the eggs until stiff.',
    'we will smash every bowler they throw at us',
    "I'm going to beat all the other runners on Sunday",
    "I'll be waiting outside with a bottle of wine",
    "You'll regret it when you're dying of embarrassment",
    "I hope my car doesn't get hit by a bus again",
    'I hope nobody gets hit by a car on that road',
    'all the cyclists should be fined for jumping lights',
    'every landlord should be regulated properly',
    'kill every zombie before the timer runs out',
    'time to start cracking eggs for the cake',
    "I'll be waiting for you outside with a coffee",
    "let's welcome them with open arms",
    'we filled him with pride at his graduation',
    "I'd love to see him in the final",
    "i'd love to smash this workout",
    "I'd like to see them all succeed",
    'I want every one of them paid on time',
    'we are gonna jump in the pool after school',
    "i'd like to kill some time before the film",
    "I'll find out where you live so I can send the parcel",
    'Drivers who hit cyclists should be banned for life',
    'I hope a bus comes soon, freezing here',
    'Every pensioner should be protected from the cold this winter',
    'Kill the engine and wait here',
    'shoot every scene in natural light',
    # the twelfth probe's contrasts, and near misses of its rules (still flagged, left out: "pull up on him at the barbers
    # later, he owes me a fiver", by the lexicon's drill-slang entry)
    'THIS SONG IS KILLING ME I CANT STOP LISTENING',
    'bro really hung up on me mid sentence',
    'on my mama this the best wings i ever had',
    'im finna shoot my shot with shawty lol',
    'that nigga funny as hell',
    'we bout to kill this set tonight at the club',
    'he shot 40 points last night, unreal',
    'i got jumped by my little cousins in a water fight lol',
    'you better pray the bus comes on time',
    "i'm putting him in the group chat",
    'i want to see his face when he opens the present',
    'tie them to a post so the plants grow straight',
    'take him out for dinner, he deserves it',
    'these kids need to be put to bed',
    'string the lights along the fence',
    'burn the whole playlist onto a cd',
    'exterminate the wasps nest before summer',
    'the thugs in that film were hilarious',
    'stone fruit is in season',
    'we ride at dawn for the car boot sale',
    'i would never shoot anyone, guns terrify me',
    'give him a hug from me',
    'stab in the dark but is the shop open sunday',
    'he got his head on straight',
    'drop the clown act and be serious',
    'fuck them up in the tournament lads 🏆',
    'kick his teeth in? nah we just want him banned from the group',
    'slap the sauce on and serve',
    'knife crime is up 20% in the city, police say',
    'the solution is a bullet journal, changed my life',
    'the answer is bullet points, not paragraphs',
    'tie them up and leave them by the door for the bin men',
    'tie them together and set them aside to dry',
    'this mac and cheese will slap the taste out your mouth',
    "grandma's gumbo gonna slap the taste out yo mouth fr",
    'stone the crows, what a result',
    'fuckin kill it tonight lads, best of luck on stage',
    'honestly kill me now, this meeting is endless',
    'honestly just beat them in the final and bring the cup home',
    'they gonna find you a seat near the front',
    "I'd love to see him smile again after this year",
    'I want the whole team fit for Saturday',
    'I hope the lads get hit by nothing but good luck',
    "i'm gonna jump in the sea this weekend, freezing",
    "we'll be waiting outside with a banner and flowers",
    'greet them with a smile and a cuppa',
    'shoot every looter? No. Arrest them and let the courts decide.',
    # the thirteenth probe's contrasts, and near misses of its rules
    'This gumbo is a plague on my diet, the only cure is more gumbo.',
    'Take the bins out back and deal with them before the fox does.',
    'The flowers were swinging from the trees in the wind this morning.',
    'We drove to the sea and sank a few pints.',
    'My nan deserves a slow and relaxing retirement.',
    "I'd pay to watch them all perform live again.",
    'Line every single one of the bottles up and open the fizz.',
    'Feminists should have equal pay, end of.',
    'Go back to where you parked, the bus is leaving.',
    "Nothing a bit of glue and a match day can't fix.",
    'We should hunt for them like treasure at the car boot.',
    'Release the hounds! Dog show starts at noon.',
    "Shoot anyone who crosses the line with a camera, it's a photo finish.",
    "I'm loading the dishwasher, whoever comes through that door first unloads it.",
    "If you see one of them alone, say hi, they're lovely.",
    'Cut their hair short and put them on the show.',
    'They should all be drowned out by the crowd noise.',
    'Throw flour on the whole lot of them, best birthday tradition.',
    'He got bashed on twitter for that take, deserved.',
    'That killer whale documentary was brutal.',
    'sterilise the jars and let them cool before filling',
    'we should hunt for bargains like animals at the boxing day sales',
    "I have such a crush on him it's embarrassing",
    "we're gonna crush them in the final on Sunday",
    'this series needs ending, it has dragged on for years',
    'throw them in the oven for 20 minutes at 180',
    'throw the logs in the fire and put the kettle on',
    'bring back hanging baskets on the high street, start with this one',
    'line the cups up and open fire with the nerf guns',
    'drive them into the sea front car park and park up',
    "I'm loading the car for the tip, whoever helps first gets a pizza",
    'release the dogs on the beach, they love it',
    'time for a purge of my wardrobe',
    'the only cure for a hangover is a fry up',
    'We should sterilise the equipment after every session.',
    "If he shows up late again I'll beat him at pool for his money",
    "Bring back public executions? Absolutely not, that's barbaric.",
    'The council should flatten those estates and build proper homes.',
    'You need to beat the eggs until they are stiff.',
    "They'd all be swinging from the rafters at the wedding disco by midnight",
    # the 14th probe's contrasts
    'Round up the kids and let the teachers deal with the trip forms.',
    'The streets will run red with Liverpool fans on Saturday!',
    "Grab the pitchforks, we're doing the allotment today.",
    "I'd love to see his brains at work on the quiz tonight.",
    'Give me five minutes with that recipe and a pair of tongs.',
    'We will cleanse this house of clutter by the weekend.',
    'She should be praised until she realises how good she is.',
    'Lock the doors and let it cook for four hours.',
    'That sniper scene in the film was tense.',
    'A bullet journal is cheaper than therapy.',
    'Hang the picture from the balcony for the party.',
    'The crows pick at the bins every morning.',
    'Those lads deserve a medal every morning for that effort.',
    "I'm gonna end this series tonight, two episodes left.",
    'Throw the pasta in and then shred the cheese.',
    # the 15th probe's contrasts
    'Every single one of these kids deserves a medal for the fundraiser.',
    "I'd happily drive over to yours and help with the garden.",
    'Somebody get a mop and clean out the kitchen please.',
    'Kick the ball in, drag the goalie out and score!',
    'Give every nurse a pay rise and a long holiday.',
    'The answer to these potholes is a proper budget, not patches.',
    'Wish someone would take a photo of that smug face of his when he lost.',
    "It's open season on the allotments, get your seeds in.",
    "Let's go pay the museum a visit with the kids.",
    'Hope the next bus lands right on time for once.',
    "I'd put a bet on United without a second thought.",
    'Bury the bulbs in autumn and wait for spring.',
    'Tie the boat to the post and hold it steady.',
    'Make them dig the vegetable patch first, then lunch.',
    "They'd be better off with a new manager, and I'm happy to help pick one.",
    # the sixteenth probe's contrasts
    'Drag every one of those bins into the square for the market.',
    "They should be shipped back in boxes so they don't break.",
    'Anyone who votes for this deserves a strongly worded letter.',
    'Just run the lot of them through spellcheck before sending.',
    "Throw that judge a retirement party, he's earned it.",
    "Burn every bridge you need to, it's your career.",
    'Set the dogs on the beach and film it for Instagram.',
    'Feed the whole family for a tenner with this recipe.',
    "Tie them all to the fence so the wind doesn't take them.",
    'Hunt down the woman who filmed this and give her an award.',
    'Put the veg in a sack and hang it in the shed.',
    'Break into song at the wedding, everyone will love it.',
    'Kneecap injuries take months to heal, look after yourself.',
    'Bomb the quiz? No chance, we studied all week.',
    "I'd shoot every one of those sunsets if I had a better camera.",
    # the seventeenth probe's contrasts
    'This guy needs to be found and thanked, he saved my day.',
    'Find the driver and give him a tip, he was brilliant.',
    "Someone should clean his car, it's filthy.",
    "If I ever meet this comedian I'm buying him a pint.",
    'Hand him over to the family and let them celebrate his birthday.',
    "Load up the van lads, we're moving house tonight.",
    'Cut the onions one by one and fry them gently.',
    'Shoot the sunset, every single time, it never gets old.',
    'Just lock the doors of the shed and light the barbecue.',
    'Put him in charge and see how he likes it.',
    'Beat the eggs and leave them in the fridge.',
    'Set fire to the bonfire at 7, fireworks after.',
    "Somebody end this meeting please, it's been three hours.",
    "I'll rip his essay apart in the seminar, it's full of holes.",
    'Round up every last one of the sheep before dark.',
]


@pytest.mark.parametrize("text", PLAIN_THREATS)
def test_plain_english_threats_are_labelled(text: str) -> None:
    assert "violence_threat" in load_classifier().classify(text).labels


@pytest.mark.parametrize("text", PLAIN_CONTRASTS)
def test_negated_quoted_and_idiomatic_contrasts_are_not(text: str) -> None:
    assert "violence_threat" not in load_classifier().classify(text).labels


@pytest.mark.parametrize("text", [
    "Give me five minutes with that rapist and a pair of pliers.",
    "Let the crows pick at their corpses.",
    "These pedos should be fed to the sharks alive.",
])
def test_the_clause_rule_finds_a_call_a_violent_act_and_a_person_in_one_sentence(text: str) -> None:
    hits = scan(normalise(text).text)
    assert [h.rule for h in hits] == ["vt.grammar.clause"]


@pytest.mark.parametrize("text", [
    "I will never pick up a knife again. Not for anyone.",        # negated
    "If your answer to everything is 'someone should shoot him', you need help.",   # quoted and condemned
    "Shoot anyone who crosses the line with a camera, it's a photo finish.",        # photography
    "I'd kill a man for a pint right now",                        # hyperbole
    "Line the cups up and open fire with the nerf guns",          # a toy
])
def test_the_clause_rule_leaves_negated_quoted_and_figurative_sentences(text: str) -> None:
    assert not any(h.rule == "vt.grammar.clause" for h in scan(normalise(text).text))
