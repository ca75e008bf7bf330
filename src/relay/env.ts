/** The environment the relay reads its configuration from. */
export type Env = Readonly<Record<string, string | undefined>>
