/** How projections store a document: the value and the stream seq it reflects (applying twice changes nothing). */
export interface ProjectedDoc<T> {
  lastSeq: number;
  value: T;
}
