// An upward import: inference may not know the UI.
import { view } from '../ui/view'

export const upward = view
