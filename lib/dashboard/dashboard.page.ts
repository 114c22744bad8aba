import { createHash } from 'node:crypto';

/*
 * The dashboard's page: one self-contained document (no CDN, no build step), shipped as a string
 * so that dist/ needs no copied assets. Its script writes every value with textContent and DOM
 * APIs, never innerHTML, so a loop name or error message is shown as text whatever it holds. It
 * finds its API from its own URL (`location.pathname`), so the page carries no server data and
 * is one constant, which lets the Content-Security-Policy pin its script by hash.
 */

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}small,.dim{color:#777}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}
.s-running{color:#070}.s-paused,.s-stopped{color:#a60}.s-standby{color:#777}.err{color:#b00;font-size:.9em;max-width:30em}
.tl{position:relative;width:240px;height:16px;background:#f3f4f6;overflow:hidden;contain:strict}.tl.big{width:100%;height:28px}
.tl span{position:absolute;left:0;top:0;bottom:0;width:1px;transform-origin:0 0;background:#3b82f6}.tl .succeeded{background:#22a34a}.tl .failed{background:#dc2626}
button{margin:0 .3em .2em 0}td:last-child{white-space:nowrap}.err.dim{color:#777}#detail dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}#detail dt{color:#555}`;

const SCRIPT = `(()=>{
const base=location.pathname.replace(/\\/+$/,'');
const $=(id)=>document.getElementById(id);
const runs=new Map();let state={loops:[],members:[],readOnly:true},skew=0;
const now=()=>Date.now()+skew;
function el(tag,text,cls){const e=document.createElement(tag);if(text!==undefined&&text!==null)e.textContent=String(text);if(cls)e.className=cls;return e}
function dur(ms){ms=Math.max(0,Math.round(ms));return ms<1e3?ms+' ms':ms<6e4?+(ms/1e3).toFixed(1)+' s':ms<36e5?+(ms/6e4).toFixed(1)+' min':+(ms/36e5).toFixed(1)+' h'}
function rel(iso){if(!iso)return '-';const d=new Date(iso).getTime()-now();return d>=0?'in '+dur(d):dur(-d)+' ago'}
function cadence(l){return 'every '+dur(l.period)+(l.jitter?', jitter '+l.jitter:'')+(l.sliding?', sliding':', non-sliding')}
function failures(l){return l.consecutiveFailures?l.consecutiveFailures+' in a row'+(l.backoff?', backing off':''):l.failures?'0 ('+l.failures+' in all)':'0'}
function act(name,verb){fetch(base+'/api/loops/'+encodeURIComponent(name)+'/'+verb,{method:'POST',headers:{'X-Wait-Dashboard':'1'}}).then((r)=>{$('status').textContent=verb+' '+name+': '+r.status}).catch((e)=>{$('status').textContent=String(e)})}
// Drawn into the same container each time, its bars kept and moved by transforms (no layout): a
// page of hundreds of loops redraws them several times a second.
function timeline(name,t){const list=runs.get(name)||[],end=now(),from=Math.min(list.length?list[0].start:end,end-1e4),span=end-from;t.title='runs over the last '+dur(span);const w=(t.w||t.clientWidth)/span;
while(t.children.length>list.length)t.lastChild.remove();while(t.children.length<list.length){const i=el('span');i.setAttribute('data-run','');t.append(i)}
list.forEach((r,k)=>{const i=t.children[k],stop=r.end===undefined?end:r.end,key=r.start+' '+r.end+' '+r.outcome;i.style.transform='translateX('+(r.start-from)*w+'px) scaleX('+Math.max(2,(stop-r.start)*w)+')';
if(i.key!==key){i.key=key;i.className=r.outcome;i.setAttribute('data-outcome',r.outcome);i.title=new Date(r.start).toLocaleTimeString()+', '+(r.end===undefined?'running':dur(r.end-r.start)+', '+r.outcome)}});return t}
// A row's strip is 240px wide (its CSS): its width is never read, which would force a layout per row.
function strip(big){const t=el('div',undefined,big?'tl big':'tl');t.setAttribute('data-timeline','');t.w=big?0:240;return t}
const rows=new Map();
function row(l){let r=rows.get(l.name);if(!r){const tr=el('tr');tr.setAttribute('data-loop',l.name);const a=el('a',l.name);a.href='#loop='+encodeURIComponent(l.name);a.setAttribute('data-detail','');
r={tr,cells:[0,1,2,3,4,5,6,7,8].map(()=>el('td')),verbs:'',tl:strip(),err:el('div')};r.cells[0].append(a);r.cells[7].append(r.tl,r.err);r.cells[1].setAttribute('data-field','state');r.cells[3].setAttribute('data-field','owner');tr.append(...r.cells);rows.set(l.name,r)}
const c=r.cells;c[1].textContent=l.state;c[1].className='s-'+l.state;c[2].textContent=l.placement;c[3].textContent=l.owner||'-';c[4].textContent=cadence(l);c[5].textContent=rel(l.nextRunAt);
c[6].textContent=failures(l);c[6].className=l.consecutiveFailures?'err':'';timeline(l.name,r.tl);r.err.textContent=l.lastErrorMessage?'last error: '+l.lastErrorMessage:'';r.err.className=l.consecutiveFailures?'err':'err dim';
// Buttons are made again only when they change: a click never lands on a button just replaced.
const verbs=state.readOnly?'':'trigger '+(l.state==='paused'||l.state==='stopped'?'resume':'pause');if(verbs!==r.verbs){r.verbs=verbs;c[8].replaceChildren();
for(const v of verbs?verbs.split(' '):[]){const b=el('button',v);b.type='button';b.setAttribute('data-action',v);b.addEventListener('click',()=>act(l.name,v));c[8].append(b)}}return r.tr}
const FIELDS=['state','placement','owner','pausedBy','pausedAt','period','jitter','sliding','backoff','iterations','failures','consecutiveFailures','inFlight','runningSince','lastStartedAt','lastEndedAt','lastOutcome','lastSucceededAt','lastErrorMessage','nextRunAt','reportedAt'];
function detail(){const d=$('detail'),m=/^#loop=(.*)$/.exec(location.hash),name=m?decodeURIComponent(m[1]):undefined,l=state.loops.find((x)=>x.name===name);
d.hidden=!l;d.replaceChildren();if(!l)return;const h=el('h2',l.name);h.setAttribute('data-detail-name','');const back=el('a','all loops');back.href='#';
const dl=el('dl');for(const f of FIELDS){if(l[f]===undefined)continue;dl.append(el('dt',f),el('dd',/At$|Since$/.test(f)?new Date(l[f]).toLocaleString()+' ('+rel(l[f])+')':f==='period'?dur(l[f]):l[f]))}
const t=el('table'),list=(runs.get(l.name)||[]).slice().reverse();t.append(el('tr'));t.firstChild.append(el('th','Run started'),el('th','Duration'),el('th','Outcome'));
for(const r of list){const tr=el('tr');tr.append(el('td',new Date(r.start).toLocaleString()),el('td',r.end===undefined?'-':dur(r.end-r.start)),el('td',r.outcome));t.append(tr)}
const tl=strip(true);d.append(back,h,tl,dl,el('h3','Recent runs, as this replica saw them'),t);timeline(l.name,tl)}
function render(){const body=$('loops'),names=new Set(state.loops.map((l)=>l.name));for(const n of rows.keys())if(!names.has(n)){rows.get(n).tr.remove();rows.delete(n)}state.loops.forEach((l,i)=>{const tr=row(l);if(body.children[i]!==tr)body.insertBefore(tr,body.children[i]||null)});
const m=$('members');m.replaceChildren();for(const x of state.members){m.append(el('li',x.identity+(x.leader?' (leader)':'')+(x.self?' (this replica)':'')+', '+x.loops+' loops, renewed '+rel(x.renewedAt)))}
if(!state.members.length)m.append(el('li','no cluster: this replica only'));const leader=state.members.find((x)=>x.leader);$('leader').textContent=leader?leader.identity:'-';
$('mode').textContent=state.readOnly?'read-only':'read-write';detail()}
const es=new EventSource(base+'/api/events');
// Events come in bursts (one per run start and end, a state after them): they are drawn
// together, 4 times a second at most, and a run redraws only its loop's timeline.
const dirty=new Set();let queued=false,all=false;
function soon(full){all=all||full;if(!queued){queued=true;setTimeout(()=>{queued=false;if(all)render();else{const m=/^#loop=(.*)$/.exec(location.hash),open=m&&decodeURIComponent(m[1]);
for(const n of dirty){const r=rows.get(n);if(r)timeline(n,r.tl);if(n===open)detail()}}all=false;dirty.clear()},250)}}
es.addEventListener('state',(e)=>{state=JSON.parse(e.data);soon(true)});
es.addEventListener('timeline',(e)=>{const t=JSON.parse(e.data);skew=t.now-Date.now();for(const r of t.runs){const list=runs.get(r.name)||[];const i=list.findIndex((x)=>x.start===r.start);if(i>=0)list[i]=r;else{list.push(r);list.sort((a,b)=>a.start-b.start);if(list.length>30)list.shift()}runs.set(r.name,list);dirty.add(r.name)}soon()});
es.addEventListener('open',()=>{$('status').textContent='live'});
es.addEventListener('error',()=>{$('status').textContent='reconnecting'});
addEventListener('hashchange',detail);setInterval(render,1e3);
})();`;

/**
 * The page's HTML: 8,396 bytes, 3,801 gzipped (`zlib.gzipSync`, checked by the dashboard tests).
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>nestjs-wait</title><style>${STYLE}</style></head>
<body><h1>nestjs-wait loops</h1><p>Leader: <b id="leader">-</b> &middot; <span id="mode"></span> &middot; <span id="status">connecting</span></p>
<section id="detail" hidden></section>
<table><thead><tr><th>Loop</th><th>State</th><th>Placement</th><th>Owner</th><th>Cadence</th><th>Next run</th><th>Failures</th><th>Recent runs</th><th></th></tr></thead><tbody id="loops"></tbody></table>
<h2>Members</h2><ul id="members"></ul>
<script>${SCRIPT}</script></body></html>`;

/**
 * The page's Content-Security-Policy: nothing loads from anywhere, its one script runs because
 * its hash matches, and it may only connect back to its own origin.
 */
export const DASHBOARD_PAGE_CSP = [
  "default-src 'none'",
  `script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
