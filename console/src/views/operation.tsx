/** `#/operations/<id>`: one operation's progress, followed live until it ends. */
import { hrefOf } from '../route.js';
import type { Session } from '../session.js';
import { OperationProgress } from './operation-progress.js';

export function OperationView(props: { session: Session; id: string }) {
  return (
    <section aria-labelledby="op-title">
      <p class="crumbs">
        <a href={hrefOf.fleet()}>Fleet</a> › operation
      </p>
      <h1 id="op-title" tabIndex={-1}>
        Operation <code>{props.id}</code>
      </h1>
      <OperationProgress client={props.session.client} id={props.id} />
    </section>
  );
}
