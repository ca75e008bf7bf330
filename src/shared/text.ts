/** Lower-cased word tokens (letters and digits of any script): the unit of matching and of votes. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
}
