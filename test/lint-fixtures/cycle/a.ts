// Half of a cycle made of type-only imports: invisible to `dpdm --transform`.
import type { B } from './b'

export interface A {
  b?: B
}
