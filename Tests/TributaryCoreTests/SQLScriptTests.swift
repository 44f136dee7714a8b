import Testing
import TributarySQL

@Suite struct SQLScriptTests {
    @Test func splitsOnlyAtStatementEnds() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE "a;b" (x TEXT DEFAULT 'it''s; here');
            /* block; comment */ INSERT INTO t VALUES ('a\\'b;c', $1);
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;
            DO $$ BEGIN PERFORM 1; END $$;
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("DEFAULT 'it''s; here')"))
        #expect(statements[2].contains("RETURN 1; END $body$"))
        #expect(statements[3] == "DO $$ BEGIN PERFORM 1; END $$")
    }
}
