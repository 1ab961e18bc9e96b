/**
 * Quantile loss and q-risk (normalized quantile loss, as in the TFT paper):
 * QL(y, ŷ, q) = q·max(y − ŷ, 0) + (1 − q)·max(ŷ − y, 0) and q-risk(q) = 2·ΣQL / Σ|y|,
 * on de-normalized values. Lower is better; 0 is a perfect forecast.
 */
export function quantileLoss(actual: number, predicted: number, q: number): number {
  const diff = actual - predicted;
  return diff >= 0 ? q * diff : (q - 1) * diff;
}

/** Running sums for one q-risk figure, so windows can be added one at a time. */
export interface QRiskSums {
  loss: number;
  absActual: number;
  count: number;
}

export function emptySums(): QRiskSums {
  return { loss: 0, absActual: 0, count: 0 };
}

export function addPoint(sums: QRiskSums, actual: number, predicted: number, q: number): void {
  sums.loss += quantileLoss(actual, predicted, q);
  sums.absActual += Math.abs(actual);
  sums.count += 1;
}

/** 2·ΣQL/Σ|y|; null when there is nothing to score or every actual is 0. */
export function qRiskOf(sums: QRiskSums): number | null {
  if (sums.count === 0 || sums.absActual === 0) return null;
  return (2 * sums.loss) / sums.absActual;
}

/** q-risk of whole arrays; pairs where either value is not finite are skipped. */
export function qRisk(actual: ArrayLike<number>, predicted: ArrayLike<number>, q: number): number | null {
  if (actual.length !== predicted.length) throw new Error('qRisk: actual and predicted differ in length');
  const sums = emptySums();
  for (let i = 0; i < actual.length; i++) {
    const y = actual[i]!;
    const p = predicted[i]!;
    if (Number.isFinite(y) && Number.isFinite(p)) addPoint(sums, y, p, q);
  }
  return qRiskOf(sums);
}
