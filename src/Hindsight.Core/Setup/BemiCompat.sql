-- Bemi compatibility (hindsight setup --bemi-compat): lifts a /*Bemi {json} Bemi*/ comment that ends
-- the current query into a transactional logical message with prefix _bemi, which the capture worker
-- reads like a hindsight context message. See docs/bemi.md for the rule and its limits.
-- Every function is CREATE OR REPLACE: setup runs this whole file again when it changes.

-- Where quoted text that starts at byte i (just after its opening quote) ends: the offset after the
-- closing quote, or -1 when the query ends first. A doubled quote stands for one; with escapes on,
-- a backslash takes the next byte (E'' strings, and '' strings when standard_conforming_strings is off).
CREATE OR REPLACE FUNCTION hindsight.bemi_skip_quoted(b bytea, i int, quote int, escapes boolean) RETURNS int
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
    n int := length(b);
    d int;
BEGIN
    LOOP
        IF i >= n THEN RETURN -1; END IF;
        d := get_byte(b, i);
        IF d = 92 AND escapes THEN
            i := i + 2;
        ELSIF d = quote THEN
            IF i + 1 < n AND get_byte(b, i + 1) = quote THEN i := i + 2; ELSE RETURN i + 1; END IF;
        ELSE
            i := i + 1;
        END IF;
    END LOOP;
END
$fn$;

-- The payload of the Bemi comment that ends the query string, or NULL.
-- Rule: the query string must hold exactly one statement, and the context is the last top-level block
-- comment of the form /*Bemi <payload> Bemi*/ after which only whitespace, semicolons and other
-- comments follow. The scan is a small lexer over the bytes (every server encoding keeps ASCII bytes
-- as they are), so text inside string literals ('', E'', U&'', dollar quotes) and quoted identifiers
-- is never taken, and nested block comments are followed as PostgreSQL does.
CREATE OR REPLACE FUNCTION hindsight.bemi_context_of(query text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $fn$
DECLARE
    b bytea;
    n int;
    i int := 0;
    j int;
    k int;
    c int;
    d int;
    depth int;
    backslash_quotes boolean := current_setting('standard_conforming_strings') = 'off';
    statements int := 0;
    segment_has_sql boolean := false;
    cand_from int := -1;   -- byte offset of the payload of the candidate comment
    cand_len int := 0;
    tag bytea;
BEGIN
    IF query IS NULL OR strpos(query, ' Bemi*/') = 0 THEN
        RETURN NULL;
    END IF;
    b := convert_to(query, 'UTF8');
    n := length(b);
    WHILE i < n LOOP
        c := get_byte(b, i);
        IF c IN (32, 9, 10, 13, 12, 11) THEN                     -- whitespace
            i := i + 1;
        ELSIF c = 59 THEN                                        -- ; ends a statement
            IF segment_has_sql THEN statements := statements + 1; END IF;
            segment_has_sql := false;
            i := i + 1;
        ELSIF c = 45 AND i + 1 < n AND get_byte(b, i + 1) = 45 THEN   -- -- line comment
            i := i + 2;
            WHILE i < n AND get_byte(b, i) <> 10 LOOP i := i + 1; END LOOP;
        ELSIF c = 47 AND i + 1 < n AND get_byte(b, i + 1) = 42 THEN   -- /* block comment, nested
            depth := 1;
            j := i + 2;
            WHILE j < n AND depth > 0 LOOP
                d := get_byte(b, j);
                IF d = 47 AND j + 1 < n AND get_byte(b, j + 1) = 42 THEN
                    depth := depth + 1; j := j + 2;
                ELSIF d = 42 AND j + 1 < n AND get_byte(b, j + 1) = 47 THEN
                    depth := depth - 1; j := j + 2;
                ELSE
                    j := j + 1;
                END IF;
            END LOOP;
            IF depth > 0 THEN RETURN NULL; END IF;               -- unterminated: not a query PostgreSQL ran
            -- '/*Bemi ' = 2f 2a 42 65 6d 69 20, ' Bemi*/' = 20 42 65 6d 69 2a 2f
            IF j - i >= 14 AND substring(b FROM i + 1 FOR 7) = '\x2f2a42656d6920'::bytea
                           AND substring(b FROM j - 6 FOR 7) = '\x2042656d692a2f'::bytea THEN
                cand_from := i + 7;
                cand_len := (j - 7) - (i + 7);
            END IF;
            i := j;
        ELSIF c = 39 THEN                                        -- 'string' ('' doubles a quote)
            i := hindsight.bemi_skip_quoted(b, i + 1, 39, backslash_quotes);
            IF i < 0 THEN RETURN NULL; END IF;
            segment_has_sql := true; cand_from := -1;
        ELSIF c = 34 THEN                                        -- "quoted identifier"
            i := hindsight.bemi_skip_quoted(b, i + 1, 34, false);
            IF i < 0 THEN RETURN NULL; END IF;
            segment_has_sql := true; cand_from := -1;
        ELSIF c = 36 THEN                                        -- $tag$ dollar quote, or $1
            j := i + 1;
            IF j < n AND (get_byte(b, j) BETWEEN 65 AND 90 OR get_byte(b, j) BETWEEN 97 AND 122
                          OR get_byte(b, j) = 95 OR get_byte(b, j) >= 128) THEN
                j := j + 1;
                WHILE j < n AND (get_byte(b, j) BETWEEN 65 AND 90 OR get_byte(b, j) BETWEEN 97 AND 122
                                 OR get_byte(b, j) BETWEEN 48 AND 57 OR get_byte(b, j) = 95 OR get_byte(b, j) >= 128) LOOP
                    j := j + 1;
                END LOOP;
            END IF;
            IF j < n AND get_byte(b, j) = 36 THEN
                tag := substring(b FROM i + 1 FOR j - i + 1);
                k := position(tag IN substring(b FROM j + 2));
                IF k = 0 THEN RETURN NULL; END IF;
                i := j + 1 + (k - 1) + length(tag);
            ELSE
                i := i + 1;
                WHILE i < n AND get_byte(b, i) BETWEEN 48 AND 57 LOOP i := i + 1; END LOOP;
            END IF;
            segment_has_sql := true; cand_from := -1;
        ELSIF c BETWEEN 65 AND 90 OR c BETWEEN 97 AND 122 OR c = 95 OR c >= 128 THEN   -- identifier or keyword
            j := i + 1;
            WHILE j < n AND ((get_byte(b, j) BETWEEN 65 AND 90) OR (get_byte(b, j) BETWEEN 97 AND 122)
                             OR (get_byte(b, j) BETWEEN 48 AND 57) OR get_byte(b, j) IN (95, 36) OR get_byte(b, j) >= 128) LOOP
                j := j + 1;
            END LOOP;
            -- E'...' takes backslash escapes, so \' does not end it.
            IF j = i + 1 AND c IN (69, 101) AND j < n AND get_byte(b, j) = 39 THEN
                i := hindsight.bemi_skip_quoted(b, j + 1, 39, true);
                IF i < 0 THEN RETURN NULL; END IF;
            ELSE
                i := j;
            END IF;
            segment_has_sql := true; cand_from := -1;
        ELSE                                                     -- any other token byte
            i := i + 1;
            segment_has_sql := true; cand_from := -1;
        END IF;
    END LOOP;
    IF segment_has_sql THEN statements := statements + 1; END IF;
    -- Several statements in one query string: a trigger cannot tell which one is running, and a
    -- context on the wrong rows is worse than none.
    IF statements <> 1 OR cand_from < 0 OR cand_len <= 0 THEN
        RETURN NULL;
    END IF;
    RETURN convert_from(substring(b FROM cand_from + 1 FOR cand_len), 'UTF8');
END
$fn$;

-- BEFORE ... FOR EACH STATEMENT on every tracked table and partition: the message is written before
-- the statement's first row change, so the worker attributes those rows to it. At most one message per
-- top-level statement: the statement (its start time and query) is remembered in a transaction-local
-- setting, so ON CONFLICT DO UPDATE, cascades, statements run by functions and multi-table TRUNCATE
-- don't repeat it. A rolled back savepoint rolls back the setting together with the message.
CREATE OR REPLACE FUNCTION hindsight.bemi_context_trigger() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    q text := current_query();
    statement_key text;
    payload text;
BEGIN
    IF q IS NULL OR strpos(q, ' Bemi*/') = 0 THEN
        RETURN NULL;                                             -- the common case costs one strpos
    END IF;
    statement_key := statement_timestamp()::text || ' ' || length(q) || ' ' || hashtextextended(q, 0);
    IF current_setting('hindsight.bemi_statement', true) IS NOT DISTINCT FROM statement_key THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('hindsight.bemi_statement', statement_key, true);
    payload := hindsight.bemi_context_of(q);
    -- Forwarded as is: the worker validates it and records a stable contextError if it is not a JSON object.
    -- A writer not trusted with context (setup --trusted-context-roles) keeps writing; its comment is ignored.
    IF payload IS NOT NULL AND has_function_privilege('pg_catalog.pg_logical_emit_message(boolean,text,text)', 'EXECUTE') THEN
        PERFORM pg_logical_emit_message(true, '_bemi', payload);
    END IF;
    RETURN NULL;
END
$fn$;

-- Installs the statement trigger on the tracked members of rel's partition tree that lack it, and
-- returns their names. Tracked: a permanent table outside schema hindsight whose partition root is
-- in a publication.
CREATE OR REPLACE FUNCTION hindsight.bemi_attach(rel oid) RETURNS SETOF text
LANGUAGE plpgsql AS $fn$
DECLARE
    root oid := coalesce(pg_partition_root(rel::regclass)::oid, rel);
    member record;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_publication_tables pt
        JOIN pg_class c ON c.relname = pt.tablename
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = pt.schemaname
        WHERE c.oid = root) THEN
        RETURN;
    END IF;
    FOR member IN
        SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid IN (SELECT relid FROM pg_partition_tree(root::regclass) UNION SELECT root)
          AND c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND n.nspname <> 'hindsight'
          AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'hindsight_bemi_context')
        ORDER BY 2
    LOOP
        EXECUTE format('CREATE TRIGGER hindsight_bemi_context BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION hindsight.bemi_context_trigger()', member.name);
        RETURN NEXT member.name;
    END LOOP;
END
$fn$;

-- ddl_command_end for CREATE TABLE, CREATE TABLE AS, SELECT INTO and ALTER TABLE (ATTACH PARTITION,
-- SET SCHEMA): tables that become tracked get the trigger. A failure here must never fail the
-- user's DDL, so it becomes a warning.
CREATE OR REPLACE FUNCTION hindsight.bemi_on_ddl() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    cmd record;
BEGIN
    FOR cmd IN
        SELECT DISTINCT d.objid FROM pg_event_trigger_ddl_commands() d
        WHERE d.classid = 'pg_class'::regclass AND d.object_type IN ('table', 'table column')
    LOOP
        BEGIN
            PERFORM hindsight.bemi_attach(cmd.objid);
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'hindsight: could not install the Bemi context trigger on %: %', cmd.objid::regclass, SQLERRM
                USING HINT = 'run hindsight setup --bemi-compat again';
        END;
    END LOOP;
END
$fn$;

-- The statement trigger runs as the user who writes (so --trusted-context-roles applies to it) and calls
-- bemi_context_of in this schema: every writer needs USAGE on the schema. USAGE shows no data — the store's
-- tables grant nothing to PUBLIC — and the functions can do nothing their caller could not do anyway.
GRANT USAGE ON SCHEMA hindsight TO PUBLIC;
