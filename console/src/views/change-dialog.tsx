/**
 * Enable, update or disable a ccs-id: a form (none for disable), a confirmation that says exactly
 * what will change on how many hosts, then the two-phase progress until the outcome. A field the
 * API refuses is marked and focused, with the API's words. Passwords go only into the request body.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../../../client/errors.js';
import { disable, enable, update, type ChangeAnswer, type UpdateBody } from '../../../client/changes.js';
import { plural } from '../format.js';
import type { Session } from '../session.js';
import type { CcsState } from './ccs-state.js';
import { ErrorMessage } from './error-message.js';
import { OperationProgress } from './operation-progress.js';

export type ChangeKind = 'enable' | 'update' | 'disable';

interface Fields {
  path: string;
  username: string;
  password: string;
  privateKeyPassword: string;
}

/** The API's field names → this form's inputs. */
const INPUT_OF: Record<string, keyof Fields> = {
  path: 'path',
  identity: 'username',
  'identity.username': 'username',
  'identity.password': 'password',
  private_key_password: 'privateKeyPassword',
};

function updateBody(fields: Fields, state: CcsState): UpdateBody {
  const body: UpdateBody = {};
  if (fields.path && fields.path !== state.resource?.path) body.path = fields.path;
  const identity: NonNullable<UpdateBody['identity']> = {};
  if (fields.username && fields.username !== state.resource?.identity.username)
    identity.username = fields.username;
  if (fields.password) identity.password = fields.password;
  if (Object.keys(identity).length > 0) body.identity = identity;
  if (fields.privateKeyPassword) body.private_key_password = fields.privateKeyPassword;
  return body;
}

function whatChanges(kind: ChangeKind, fields: Fields, state: CcsState): string[] {
  if (kind === 'disable')
    return [
      'CCS is turned off on every host; each erases the stored username and passwords.',
      'Sites bound to the Central Certificate Store on these hosts stop getting certificates from the share.',
    ];
  if (kind === 'enable')
    return [
      `share → ${fields.path}`,
      `identity → ${fields.username} (with the password you typed)`,
      fields.privateKeyPassword ? 'private-key password → the one you typed' : 'private-key password → none',
    ];
  const body = updateBody(fields, state);
  const lines: string[] = [];
  if (body.path) lines.push(`share: ${state.resource?.path ?? '—'} → ${body.path}`);
  if (body.identity?.username)
    lines.push(`identity: ${state.resource?.identity.username ?? '—'} → ${body.identity.username}`);
  if (body.identity?.password) lines.push('identity password → the one you typed');
  if (body.private_key_password) lines.push('private-key password → the one you typed');
  return lines;
}

const TITLE: Record<ChangeKind, string> = {
  enable: 'Enable CCS',
  update: 'Update CCS',
  disable: 'Disable CCS',
};

export function ChangeDialog(props: {
  session: Session;
  kind: ChangeKind;
  ccsId: string;
  state: CcsState;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [step, setStep] = useState<'form' | 'confirm' | 'sending' | 'running' | 'done'>(
    props.kind === 'disable' ? 'confirm' : 'form',
  );
  const [fields, setFields] = useState<Fields>({
    path: '',
    username: '',
    password: '',
    privateKeyPassword: '',
  });
  const [error, setError] = useState<unknown>(null);
  const [operationId, setOperationId] = useState<string | null>(null);
  const hosts = props.state.hosts.hosts.length;
  const invalidInput = error instanceof ApiError && error.field ? INPUT_OF[error.field] : undefined;
  // Issue 13's API refuses a change that takes certificates away from sites bound to CCS, unless forced.
  const sitesLoseCertificates =
    error instanceof ApiError && (error.code === 'SitesUseCcs' || error.code === 'BoundNamesUncovered');

  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  useEffect(() => {
    if (step === 'form' && invalidInput)
      dialog.current?.querySelector<HTMLElement>(`#f-${invalidInput}`)?.focus();
  }, [step, invalidInput]);

  const set = (key: keyof Fields) => (e: Event) =>
    setFields({ ...fields, [key]: (e.currentTarget as HTMLInputElement).value });

  /** `force`: the operator confirmed the change although sites bound to CCS lose their certificates. */
  const send = async (force = false) => {
    setStep('sending');
    setError(null);
    try {
      const { client } = props.session;
      const etag = props.state.etag ?? undefined;
      const answer: ChangeAnswer =
        props.kind === 'enable'
          ? await enable(
              client,
              props.ccsId,
              {
                path: fields.path,
                identity: { username: fields.username, password: fields.password },
                ...(fields.privateKeyPassword ? { private_key_password: fields.privateKeyPassword } : {}),
              },
              force,
            )
          : props.kind === 'update'
            ? await update(client, props.ccsId, updateBody(fields, props.state), etag, force)
            : await disable(client, props.ccsId, etag, force);
      setFields({ ...fields, password: '', privateKeyPassword: '' });
      if (answer.kind === 'accepted') {
        setOperationId(answer.operationId);
        setStep('running');
      } else setStep('done');
    } catch (reason) {
      setError(reason);
      setStep(reason instanceof ApiError && reason.field && INPUT_OF[reason.field] ? 'form' : 'confirm');
    }
  };

  const input = (key: keyof Fields, label: string, type = 'text', required = props.kind === 'enable') => (
    <div class="field">
      <label for={`f-${key}`}>{label}</label>
      <input
        id={`f-${key}`}
        type={type}
        value={fields[key]}
        onInput={set(key)}
        required={required}
        autoComplete={type === 'password' ? 'new-password' : 'off'}
        aria-invalid={invalidInput === key ? 'true' : undefined}
        placeholder={
          props.kind === 'update' && key === 'path'
            ? (props.state.resource?.path ?? '')
            : props.kind === 'update' && key === 'username'
              ? (props.state.resource?.identity.username ?? '')
              : props.kind === 'update'
                ? 'unchanged'
                : ''
        }
      />
    </div>
  );
  const changes = whatChanges(props.kind, fields, props.state);

  return (
    <dialog ref={dialog} class="change" aria-labelledby="change-title" onClose={props.onClose}>
      <h2 id="change-title">
        {TITLE[props.kind]} for {props.ccsId}
      </h2>
      {step === 'form' && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setStep('confirm');
          }}
        >
          {input('path', 'Share path (UNC or local)')}
          {input('username', 'Identity that reads the share (DOMAIN\\user)')}
          {input('password', "Identity's password", 'password')}
          {input('privateKeyPassword', 'Private-key password of the PFX files', 'password', false)}
          {error !== null && <ErrorMessage error={error} />}
          <div class="buttons">
            <button type="submit">Review the change</button>
            <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {(step === 'confirm' || step === 'sending') && (
        <div>
          <p>
            This changes <strong>{props.ccsId}</strong> on {plural(hosts, 'host')}:
          </p>
          {changes.length > 0 ? (
            <ul class="changes">
              {changes.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          ) : (
            <p>Nothing: every field is as it is now.</p>
          )}
          {props.kind !== 'disable' && (
            <p class="help">
              Every host first checks the change (preflight: it reads the share as the identity and opens a
              PFX file with the private-key password). Nothing changes anywhere unless every reachable host
              passes.
            </p>
          )}
          {error !== null && <ErrorMessage error={error} />}
          {sitesLoseCertificates && (
            <p>
              <button
                type="button"
                class="danger"
                disabled={step === 'sending'}
                onClick={() => void send(true)}
              >
                {TITLE[props.kind].split(' ')[0]} anyway: those sites lose their certificates
              </button>
            </p>
          )}
          <div class="buttons">
            <button
              type="button"
              class={props.kind === 'disable' ? 'danger' : undefined}
              disabled={step === 'sending'}
              onClick={() => void send()}
            >
              {props.kind === 'enable' ? 'Enable' : props.kind === 'update' ? 'Update' : 'Disable'} on{' '}
              {plural(hosts, 'host')}
            </button>
            {props.kind !== 'disable' && (
              <button type="button" class="secondary" onClick={() => setStep('form')}>
                Back
              </button>
            )}
            <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {operationId && (step === 'running' || step === 'done') && (
        <OperationProgress client={props.session.client} id={operationId} onEnd={() => setStep('done')} />
      )}
      {step === 'running' && (
        <p class="help">Closing this window does not stop the change; its operation page follows it.</p>
      )}
      {step === 'done' && !operationId && (
        <p role="status">
          Nothing needed the hosts: {props.kind === 'disable' ? 'it was not enabled' : 'nothing changed'}.
        </p>
      )}
      {step === 'done' && (
        <div class="buttons">
          <button type="button" onClick={() => dialog.current?.close()}>
            Done
          </button>
        </div>
      )}
    </dialog>
  );
}
