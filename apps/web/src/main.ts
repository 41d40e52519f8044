/**
 * The lanchat web page: join with a name (and an account when the server asks), rooms, private
 * chats, the people online, files both ways with progress, the server's key fingerprint.
 */

import './style.css';
import { type Presence, nameKey } from '@lanchat/core';
import { BrowserChat, type ChatEvent, chatUrl } from './chat.js';

interface Line {
  readonly ts: number;
  readonly from: string | undefined;
  readonly text: string;
}

interface Conversation {
  readonly kind: 'room' | 'private';
  readonly name: string;
  readonly lines: Line[];
  unread: number;
}

/** Most lines kept per conversation. */
const MAX_LINES = 2000;

function element<T extends HTMLElement>(id: string, kind: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof kind)) throw new Error(`the page lacks #${id}`);
  return found;
}

const ui = {
  join: element('join', HTMLElement),
  joinForm: element('join-form', HTMLFormElement),
  nick: element('nick', HTMLInputElement),
  account: element('account', HTMLElement),
  user: element('user', HTMLInputElement),
  password: element('password', HTMLInputElement),
  joinStatus: element('join-status', HTMLElement),
  chat: element('chat', HTMLElement),
  serverName: element('server-name', HTMLElement),
  fingerprint: element('fingerprint', HTMLElement),
  status: element('status', HTMLElement),
  rooms: element('rooms', HTMLUListElement),
  privates: element('privates', HTMLUListElement),
  people: element('people', HTMLUListElement),
  joinRoom: element('join-room', HTMLFormElement),
  roomName: element('room-name', HTMLInputElement),
  title: element('conversation-title', HTMLElement),
  transcript: element('transcript', HTMLOListElement),
  files: element('files', HTMLUListElement),
  composer: element('composer', HTMLFormElement),
  message: element('message', HTMLTextAreaElement),
  fileInput: element('file-input', HTMLInputElement),
  fileLabel: element('file-label', HTMLElement),
  presence: element('presence', HTMLSelectElement),
  leaveRoom: element('leave-room', HTMLButtonElement),
};

let lobby = 'lobby';

const conversations = new Map<string, Conversation>();
const people = new Map<string, { nick: string; presence: Presence }>();
let current = '';
let chat: BrowserChat | undefined;
let myNick = '';

function keyOf(kind: 'room' | 'private', name: string): string {
  return `${kind === 'room' ? '#' : '@'}${nameKey(name)}`;
}

function conversation(kind: 'room' | 'private', name: string): Conversation {
  const key = keyOf(kind, name);
  let found = conversations.get(key);
  if (found === undefined) {
    found = { kind, name, lines: [], unread: 0 };
    conversations.set(key, found);
  }
  return found;
}

function clock(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function add(target: Conversation, line: Line): void {
  target.lines.push(line);
  if (target.lines.length > MAX_LINES) target.lines.splice(0, target.lines.length - MAX_LINES);
  if (keyOf(target.kind, target.name) === current) appendLine(line);
  else target.unread++;
  renderConversations();
}

function notice(text: string): void {
  const target = conversations.get(current);
  if (target !== undefined) add(target, { ts: Date.now(), from: undefined, text });
}

function appendLine(line: Line): void {
  const item = document.createElement('li');
  const time = document.createElement('time');
  time.dateTime = new Date(line.ts).toISOString();
  time.textContent = clock(line.ts);
  item.append(time, ' ');
  if (line.from === undefined) {
    item.className = 'notice';
    item.append(line.text);
  } else {
    const from = document.createElement('strong');
    from.textContent = line.from;
    // Text stays text: never HTML.
    item.append(from, ': ', line.text);
  }
  ui.transcript.append(item);
  ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

function show(key: string): void {
  const target = conversations.get(key);
  if (target === undefined) return;
  current = key;
  target.unread = 0;
  ui.title.textContent =
    target.kind === 'room' ? `#${target.name}` : `Private chat with ${target.name}`;
  ui.transcript.replaceChildren();
  for (const line of target.lines) appendLine(line);
  ui.leaveRoom.hidden = target.kind !== 'room' || nameKey(target.name) === nameKey(lobby);
  const privateChat = target.kind === 'private';
  ui.fileInput.disabled = !privateChat;
  ui.fileLabel.setAttribute('aria-disabled', String(!privateChat));
  ui.fileLabel.title = privateChat
    ? `Send a file to ${target.name}`
    : 'Open a private chat to send a file';
  renderConversations();
  ui.message.focus();
}

function conversationButton(target: Conversation): HTMLLIElement {
  const key = keyOf(target.kind, target.name);
  const item = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = `${target.kind === 'room' ? '#' : ''}${target.name}${target.unread > 0 ? ` (${target.unread})` : ''}`;
  if (key === current) button.setAttribute('aria-current', 'true');
  button.addEventListener('click', () => {
    show(key);
  });
  item.append(button);
  return item;
}

function renderConversations(): void {
  const all = [...conversations.values()];
  ui.rooms.replaceChildren(
    ...all.filter((target) => target.kind === 'room').map(conversationButton),
  );
  ui.privates.replaceChildren(
    ...all.filter((target) => target.kind === 'private').map(conversationButton),
  );
}

function renderPeople(): void {
  const sorted = [...people.values()].sort((a, b) => a.nick.localeCompare(b.nick));
  ui.people.replaceChildren(
    ...sorted.map((person) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = person.nick;
      button.title = person.nick === myNick ? 'you' : `Private chat with ${person.nick}`;
      button.disabled = person.nick === myNick;
      button.addEventListener('click', () => {
        conversation('private', person.nick);
        show(keyOf('private', person.nick));
      });
      const presence = document.createElement('span');
      presence.className = `presence ${person.presence}`;
      presence.textContent = person.presence;
      item.append(button, ' ', presence);
      return item;
    }),
  );
}

function setPerson(nick: string, presence: Presence = 'online'): void {
  people.set(nameKey(nick), { nick, presence });
  renderPeople();
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

const fileItems = new Map<
  string,
  { item: HTMLLIElement; progress: HTMLProgressElement; label: HTMLElement }
>();

function fileItem(
  transfer: string,
  text: string,
  size: number,
): { item: HTMLLIElement; progress: HTMLProgressElement; label: HTMLElement } {
  let entry = fileItems.get(transfer);
  if (entry === undefined) {
    const item = document.createElement('li');
    item.dataset['transfer'] = transfer;
    const label = document.createElement('span');
    const progress = document.createElement('progress');
    progress.max = Math.max(1, size);
    progress.value = 0;
    progress.setAttribute('aria-label', text);
    item.append(label, ' ', progress);
    ui.files.append(item);
    entry = { item, progress, label };
    fileItems.set(transfer, entry);
  }
  entry.label.textContent = text;
  return entry;
}

function onEvent(event: ChatEvent): void {
  switch (event.type) {
    case 'connection':
      ui.status.textContent =
        event.state === 'online'
          ? 'connected'
          : `${event.state}${event.detail === undefined ? '' : `: ${event.detail}`}`;
      if (event.state === 'closed' && !ui.join.hidden)
        ui.joinStatus.textContent = event.detail ?? 'disconnected';
      return;
    case 'key':
      ui.fingerprint.textContent = event.fingerprint;
      if (event.status === 'changed') {
        const warning = `The server's key has CHANGED (pinned ${event.pinned ?? '?'}, now ${event.fingerprint}). Someone may be impersonating it: not connecting.`;
        ui.joinStatus.textContent = warning;
        ui.status.textContent = warning;
        ui.fingerprint.textContent = `${event.fingerprint} (CHANGED)`;
      } else if (chat?.awaitingLogin === true) {
        ui.account.hidden = false;
        ui.joinStatus.textContent = 'This server requires an account: enter it and join.';
        ui.user.focus();
      }
      return;
    case 'login-succeeded':
      myNick = event.nick;
      ui.serverName.textContent = event.server;
      ui.join.hidden = true;
      ui.chat.hidden = false;
      lobby = event.lobby;
      for (const room of event.rooms) conversation('room', room);
      show(keyOf('room', event.lobby));
      chat?.act((session, now) => session.listUsers(undefined, now));
      return;
    case 'login-failed':
      ui.joinStatus.textContent = event.message;
      return;
    case 'room-joined':
      conversation('room', event.room);
      show(keyOf('room', event.room));
      for (const member of event.members) setPerson(member);
      return;
    case 'room-left':
      conversations.delete(keyOf('room', event.room));
      if (current === keyOf('room', event.room)) show(keyOf('room', lobby));
      renderConversations();
      return;
    case 'users-listed':
      for (const user of event.users) setPerson(user.nick, user.presence);
      return;
    case 'user-joined':
      setPerson(event.nick);
      add(conversation('room', event.room), {
        ts: Date.now(),
        from: undefined,
        text: `${event.nick} joined`,
      });
      return;
    case 'user-left':
      add(conversation('room', event.room), {
        ts: Date.now(),
        from: undefined,
        text: `${event.nick} left`,
      });
      return;
    case 'user-connected':
      setPerson(event.nick);
      return;
    case 'user-disconnected':
      people.delete(nameKey(event.nick));
      renderPeople();
      return;
    case 'presence-changed':
      setPerson(event.nick, event.presence);
      return;
    case 'nick-changed': {
      people.delete(nameKey(event.old));
      setPerson(event.nick);
      if (event.self) myNick = event.nick;
      notice(`${event.old} is now ${event.nick}`);
      return;
    }
    case 'message-received':
      add(conversation('room', event.room), { ts: event.ts, from: event.from, text: event.text });
      return;
    case 'private-message-received':
      add(conversation('private', event.from), {
        ts: event.ts,
        from: event.from,
        text: event.text,
      });
      return;
    case 'message-failed':
    case 'request-failed':
    case 'server-error':
      notice(`error: ${event.message}`);
      return;
    case 'server-shutdown':
      notice(`the server is shutting down: ${event.message}`);
      return;
    case 'transfer-offered': {
      const entry = fileItem(
        event.transfer,
        `${event.peer} offers ${event.name} (${formatBytes(event.size)})`,
        event.size,
      );
      const accept = document.createElement('button');
      accept.type = 'button';
      accept.textContent = 'Accept';
      const decline = document.createElement('button');
      decline.type = 'button';
      decline.textContent = 'Decline';
      accept.addEventListener('click', () => {
        accept.remove();
        decline.remove();
        chat?.acceptFile(event.transfer);
      });
      decline.addEventListener('click', () => {
        accept.remove();
        decline.remove();
        chat?.rejectFile(event.transfer);
      });
      entry.item.append(' ', accept, ' ', decline);
      notice(`${event.peer} offers the file ${event.name} (${formatBytes(event.size)})`);
      return;
    }
    case 'transfer-progress': {
      const entry = fileItems.get(event.transfer);
      if (entry !== undefined) {
        entry.progress.max = Math.max(1, event.size);
        entry.progress.value = event.bytes;
      }
      return;
    }
    case 'transfer-completed': {
      const entry = fileItems.get(event.transfer);
      if (entry !== undefined) {
        entry.progress.value = entry.progress.max;
        if (event.direction === 'outgoing') entry.label.textContent += ' — sent';
      }
      return;
    }
    case 'file-ready': {
      const entry = fileItem(event.transfer, `${event.name} — received`, 1);
      entry.progress.value = entry.progress.max;
      const link = document.createElement('a');
      link.href = event.url;
      link.download = event.name;
      link.textContent = `Save ${event.name}`;
      entry.item.append(' ', link);
      return;
    }
    case 'transfer-failed': {
      const entry = fileItems.get(event.transfer);
      if (entry !== undefined) entry.label.textContent += ` — failed: ${event.message}`;
      return;
    }
    default:
      return;
  }
}

async function sendFiles(files: FileList | readonly File[]): Promise<void> {
  const target = conversations.get(current);
  if (chat === undefined || target?.kind !== 'private') {
    notice('open a private chat with someone to send them a file');
    return;
  }
  for (const file of files) {
    try {
      const transfer = await chat.sendFile(target.name, file);
      fileItem(transfer, `${file.name} to ${target.name} (${formatBytes(file.size)})`, file.size);
    } catch (error) {
      notice(`cannot send ${file.name}: ${String(error)}`);
    }
  }
}

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const nick = ui.nick.value.trim();
  const account = ui.account.hidden
    ? {}
    : { user: ui.user.value.trim(), password: ui.password.value };
  const details = { ...(nick === '' ? {} : { nick }), ...account };
  if (chat?.awaitingLogin === true) {
    chat.login(details);
    return;
  }
  chat?.close();
  ui.joinStatus.textContent = 'connecting...';
  chat = new BrowserChat(chatUrl(window.location), details, onEvent);
});

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.message.value.replace(/\s+$/, '');
  const target = conversations.get(current);
  if (text === '' || chat === undefined || target === undefined) return;
  try {
    if (target.kind === 'room') chat.act((session, now) => session.say(target.name, text, now));
    else chat.act((session, now) => session.sendPrivate(target.name, text, now));
    add(target, { ts: Date.now(), from: myNick, text });
    ui.message.value = '';
  } catch (error) {
    notice(`not sent: ${error instanceof Error ? error.message : String(error)}`);
  }
});

ui.message.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

ui.joinRoom.addEventListener('submit', (event) => {
  event.preventDefault();
  const room = ui.roomName.value.trim();
  if (room === '' || chat === undefined) return;
  try {
    chat.act((session, now) => session.join(room, now));
    ui.roomName.value = '';
  } catch (error) {
    notice(`cannot join: ${error instanceof Error ? error.message : String(error)}`);
  }
});

ui.leaveRoom.addEventListener('click', () => {
  const target = conversations.get(current);
  if (chat === undefined || target?.kind !== 'room') return;
  try {
    chat.act((session, now) => session.leave(target.name, now));
  } catch (error) {
    notice(`cannot leave: ${error instanceof Error ? error.message : String(error)}`);
  }
});

ui.presence.addEventListener('change', () => {
  const presence = ui.presence.value;
  if (chat === undefined || (presence !== 'online' && presence !== 'away' && presence !== 'busy')) {
    return;
  }
  try {
    chat.act((session, now) => session.setPresence(presence, now));
    setPerson(myNick, presence);
  } catch (error) {
    notice(`cannot change presence: ${error instanceof Error ? error.message : String(error)}`);
  }
});

ui.fileInput.addEventListener('change', () => {
  const files = ui.fileInput.files;
  if (files !== null) void sendFiles(files);
  ui.fileInput.value = '';
});

ui.transcript.addEventListener('dragover', (event) => {
  event.preventDefault();
});
ui.transcript.addEventListener('drop', (event) => {
  event.preventDefault();
  const files = event.dataTransfer?.files;
  if (files !== undefined && files.length > 0) void sendFiles(files);
});

ui.nick.value = localStorage.getItem('lanchat-nick') ?? '';
ui.nick.addEventListener('change', () => {
  localStorage.setItem('lanchat-nick', ui.nick.value.trim());
});
ui.nick.focus();
