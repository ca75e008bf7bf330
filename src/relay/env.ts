/** The environment the relay reads its configuration from (process.env, or a test's object). */
export type Env = Readonly<Record<string, string | undefined>>
