/** Namespaces as the core keeps them; implemented by metadata/namespaces.ts. */
export type Labels = Record<string, string>;

export interface NamespaceRecord {
  name: string;
  labels: Labels;
  /** ms since the epoch */
  createdAt: number;
}

export interface NamespaceStore {
  get(name: string): NamespaceRecord;
  list(): NamespaceRecord[];
  /** throws already-exists */
  create(name: string, labels: Labels): NamespaceRecord;
  /** creates the namespace when missing (containers may be made in a new namespace) */
  ensure(name: string): { record: NamespaceRecord; created: boolean };
  updateLabels(name: string, set: Labels, remove: string[]): NamespaceRecord;
  /** throws failed-precondition while the namespace holds containers */
  delete(name: string): void;
}
