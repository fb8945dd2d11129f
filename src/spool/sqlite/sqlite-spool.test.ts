import { openSqlite } from "../../db/open-sqlite.ts";
import { describeSpoolConformance } from "../spool.conformance.ts";
import { SqliteSpool } from "./sqlite-spool.ts";

describeSpoolConformance("sqlite", () => new SqliteSpool(openSqlite(":memory:")));
